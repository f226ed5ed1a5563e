#!/bin/sh
# W3's writer program: waits until the file GO exists (so that every writer starts
# together and the daemon's CPU is sampled just before), then writes BYTES bytes of
# 100-byte log lines to stdout or stderr and exits. (yes's complaint about the closed
# pipe is discarded: under both daemons children inherit SIGPIPE ignored, so yes sees
# EPIPE and says so, which would otherwise land in the stderr log.)
#
# In "fast" mode the lines are 64 bytes long and reach the pipe in 64 KiB writes
# (dd with full blocks); BYTES is then rounded down to a multiple of 64 KiB.
#
# usage: writer.sh GO BYTES stdout|stderr [lines|fast]
go=$1
bytes=$2
channel=$3
mode=${4:-lines}
while [ ! -e "$go" ]; do sleep 0.05; done
if [ "$mode" = fast ]; then
    line='2026-01-01 00:00:00,000 INFO worker: request handled status 200'
    write() { yes "$line" 2>/dev/null | dd bs=65536 iflag=fullblock count=$((bytes / 65536)) status=none; }
else
    line='2026-01-01 00:00:00,000 INFO worker: request handled in 2 ms, status 200, sent 5120 bytes to client'
    write() { yes "$line" 2>/dev/null | head -c "$bytes"; }
fi
if [ "$channel" = stderr ]; then
    write >&2
else
    write
fi
