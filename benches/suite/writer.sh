#!/bin/sh
# W3's writer program: waits until the file GO exists (so that every writer starts
# together and the daemon's CPU is sampled just before), then writes BYTES bytes of
# 100-byte log lines to stdout or stderr and exits. (yes's complaint about the closed
# pipe is discarded: under the reference, whose children inherit SIGPIPE ignored, it
# would otherwise land in the stderr log.)
#
# usage: writer.sh GO BYTES stdout|stderr
go=$1
bytes=$2
channel=$3
while [ ! -e "$go" ]; do sleep 0.05; done
line='2026-01-01 00:00:00,000 INFO worker: request handled in 2 ms, status 200, sent 5120 bytes to client'
if [ "$channel" = stderr ]; then
    yes "$line" 2>/dev/null | head -c "$bytes" >&2
else
    yes "$line" 2>/dev/null | head -c "$bytes"
fi
