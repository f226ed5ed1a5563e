"""Dump the reference supervisord's parsed configuration as our JSON model.

Usage: python dump_config.py CONFIG
       python dump_config.py --each CONFIG...

Runs the pinned reference's own ``ServerOptions.realize`` on ``-c CONFIG`` (nothing
is started: its usage()/exit() are intercepted) and prints the result in the schema
of ``supervisor::config::Config`` (``src/config/model.rs``), so that the oracle test
can compare it field by field with ``supervisord --print-config``.

On a configuration error it prints ``{"error": "<the reference's message>"}`` and
exits 2. Anything else the reference raises is a bug in this script or in a fixture:
the traceback goes to stderr and the exit status is 1.

With ``--each``, every CONFIG is dumped in turn by this one process (the reference
takes far longer to import than to parse) and each result is printed on one line:
the model, ``{"error": …}``, or ``{"crash": "<traceback>"}``; the exit status is 0.
"""

import itertools
import json
import os
import sys
import traceback

from supervisor import datatypes, events, loggers, options as ref


class ConfigRejected(Exception):
    """The reference called usage(): the configuration is invalid."""


def level_word(number):
    for word, value in vars(loggers.LevelsByDescription).items():
        if not word.startswith("_") and value == number:
            return word
    raise AssertionError("unknown log level %r" % (number,))


def autorestart_word(value):
    if value is False:
        return "false"
    if value is datatypes.RestartUnconditionally:
        return "true"
    if value is datatypes.RestartWhenExitUnexpected:
        return "unexpected"
    raise AssertionError("unknown autorestart value %r" % (value,))


def logfile_value(value):
    if value is None:
        return None
    if value is datatypes.Automatic:
        return "AUTO"
    return value


def owner(pair):
    """(uid, gid) as the reference stores it; -1 means 'leave unchanged'."""
    if pair is None:
        return None
    uid, gid = pair
    if uid == -1:
        return None
    return {"uid": uid, "gid": None if gid == -1 else gid}


def channel(pconfig, name):
    return {
        "logfile": logfile_value(getattr(pconfig, name + "_logfile")),
        "logfile_maxbytes": getattr(pconfig, name + "_logfile_maxbytes"),
        "logfile_backups": getattr(pconfig, name + "_logfile_backups"),
        "capture_maxbytes": getattr(pconfig, name + "_capture_maxbytes"),
        "events_enabled": bool(getattr(pconfig, name + "_events_enabled")),
        "syslog": bool(getattr(pconfig, name + "_syslog")),
    }


def process(pconfig):
    return {
        "name": pconfig.name,
        "section": pconfig.oracle_section,
        "section_file": pconfig.oracle_section_file,
        "command": pconfig.command,
        "directory": pconfig.directory,
        "umask": pconfig.umask,
        "priority": pconfig.priority,
        "autostart": bool(pconfig.autostart),
        "autorestart": autorestart_word(pconfig.autorestart),
        "startsecs": pconfig.startsecs,
        "startretries": pconfig.startretries,
        "uid": pconfig.uid,
        "stdout": channel(pconfig, "stdout"),
        "stderr": channel(pconfig, "stderr"),
        "stopsignal": int(pconfig.stopsignal),
        "stopwaitsecs": pconfig.stopwaitsecs,
        "stopasgroup": bool(pconfig.stopasgroup),
        "killasgroup": bool(pconfig.killasgroup),
        "exitcodes": list(pconfig.exitcodes),
        "redirect_stderr": bool(pconfig.redirect_stderr),
        "environment": dict(pconfig.environment or {}),
        "serverurl": pconfig.serverurl,
    }


def group_kind(gconfig, specs):
    if isinstance(gconfig, ref.EventListenerPoolConfig):
        return {
            "type": "eventlistener",
            "buffer_size": gconfig.buffer_size,
            "events": sorted(events.getEventNameByType(e) for e in gconfig.pool_events),
            "result_handler": specs[id(gconfig.result_handler)],
        }
    if isinstance(gconfig, ref.FastCGIGroupConfig):
        sock = gconfig.socket_config
        unix = isinstance(sock, datatypes.UnixStreamSocketConfig)
        return {
            "type": "fcgi-program",
            "url": sock.url,
            "backlog": sock.backlog,
            "owner": owner(sock.owner) if unix else None,
            "mode": sock.mode if unix else None,
        }
    if getattr(gconfig, "oracle_from_group_section", False):
        return {"type": "group"}
    return {"type": "program"}


def http_server(sconfig):
    if sconfig["family"] == ref.socket.AF_INET:
        listen = {"family": "inet", "host": sconfig["host"], "port": sconfig["port"]}
    else:
        listen = {
            "family": "unix",
            "file": sconfig["file"],
            "chmod": sconfig["chmod"],
            "chown": owner(sconfig["chown"]),
        }
    return {
        "section": sconfig["section"],
        "listen": listen,
        "username": sconfig["username"],
        "password": sconfig["password"],
    }


INCLUDED_PREFIX = 'Included extra file "'
INCLUDED_SUFFIX = '" during parsing'


def included_files(infos):
    return [
        text[len(INCLUDED_PREFIX) : -len(INCLUDED_SUFFIX)]
        for text in infos
        if text.startswith(INCLUDED_PREFIX) and text.endswith(INCLUDED_SUFFIX)
    ]


class OracleServerOptions(ref.ServerOptions):
    """The reference's options, instrumented only to remember where things came from.

    Parsing itself is untouched: each hook calls the reference's own method and
    annotates its result.
    """

    def __init__(self):
        ref.ServerOptions.__init__(self)
        # id(resolved object) -> the spec text that named it
        self.oracle_specs = {}

    def usage(self, msg):
        raise ConfigRejected(str(msg))

    def exit(self, code):
        raise ConfigRejected("exit(%r) without a message" % (code,))

    def import_spec(self, spec):
        resolved = ref.ServerOptions.import_spec(self, spec)
        self.oracle_specs[id(resolved)] = spec
        return resolved

    def processes_from_section(self, parser, section, group_name, klass=None):
        configs = ref.ServerOptions.processes_from_section(
            self, parser, section, group_name, klass
        )
        section_file = parser.section_to_file.get(section, self.configfile)
        for pconfig in configs:
            pconfig.oracle_section = section
            pconfig.oracle_section_file = os.path.abspath(section_file)
        return configs

    def process_groups_from_parser(self, parser):
        # The reference builds the [group:x] groups first, each with one direct
        # ProcessGroupConfig(...) call, before any homogeneous group: count them.
        group_sections = [s for s in parser.sections() if s.startswith("group:")]
        created = itertools.count()
        original = ref.ProcessGroupConfig

        class CountedGroupConfig(original):
            def __init__(self, *args, **kwargs):
                original.__init__(self, *args, **kwargs)
                self.oracle_from_group_section = next(created) < len(group_sections)

        ref.ProcessGroupConfig = CountedGroupConfig
        try:
            return ref.ServerOptions.process_groups_from_parser(self, parser)
        finally:
            ref.ProcessGroupConfig = original


def dump(config_path):
    opts = OracleServerOptions()
    opts.realize(args=["-c", config_path], doc="", progname="supervisord")
    section = opts.configroot.supervisord
    return {
        "source": config_path,
        "here": opts.here,
        "included_files": included_files(opts.parse_infos),
        "supervisord": {
            "logfile": opts.logfile,
            "logfile_maxbytes": opts.logfile_maxbytes,
            "logfile_backups": opts.logfile_backups,
            "loglevel": level_word(opts.loglevel),
            "pidfile": opts.pidfile,
            "umask": opts.umask,
            "nodaemon": bool(opts.nodaemon),
            "silent": bool(opts.silent),
            "minfds": opts.minfds,
            "minprocs": opts.minprocs,
            "nocleanup": bool(opts.nocleanup),
            "childlogdir": opts.childlogdir,
            "user": opts.user,
            "uid": opts.uid,
            "directory": opts.directory,
            "strip_ansi": bool(opts.strip_ansi),
            "environment": dict(section.environment),
            "identifier": opts.identifier,
        },
        "http_servers": [http_server(s) for s in opts.server_configs],
        "groups": [
            {
                "name": g.name,
                "priority": g.priority,
                "kind": group_kind(g, opts.oracle_specs),
                "processes": [process(p) for p in g.process_configs],
            }
            for g in opts.process_group_configs
        ],
        "rpcinterfaces": [
            {"name": name, "factory": opts.oracle_specs[id(factory)], "extras": extras}
            for name, factory, extras in opts.rpcinterface_factories
        ],
        "messages": [{"level": "critical", "text": t} for t in opts.parse_criticals]
        + [{"level": "warn", "text": t} for t in opts.parse_warnings]
        + [{"level": "info", "text": t} for t in opts.parse_infos],
    }


def dump_one(path):
    """(model or error document, exit status) for one configuration file."""
    try:
        return dump(os.path.abspath(path)), 0
    except ConfigRejected as rejected:
        return {"error": str(rejected)}, 2


def main(argv):
    if len(argv) >= 3 and argv[1] == "--each":
        for path in argv[2:]:
            try:
                document, _ = dump_one(path)
            except Exception:
                document = {"crash": traceback.format_exc()}
            sys.stdout.write(json.dumps(document, sort_keys=True) + "\n")
        return 0
    if len(argv) != 2:
        sys.stderr.write("usage: %s CONFIG | --each CONFIG...\n" % argv[0])
        return 64
    document, status = dump_one(argv[1])
    json.dump(document, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
