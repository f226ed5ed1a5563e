//! What a re-read configuration changes compared with the running groups (`reread`,
//! `update`, RPC `reloadConfig`), with the reference's notion of equality.
//!
//! Pure comparison of model values; applying the changes is the core's job.

use super::model::{ChannelConfig, Config, GroupConfig, GroupKind, LogFile, ProcessConfig};

/// Group names added, changed and removed by a new configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupChanges {
    /// In the new configuration only, in its (priority, name) order.
    pub added: Vec<String>,
    /// In both but different, in the new configuration's order.
    pub changed: Vec<String>,
    /// Active now but absent from the new configuration, in the active order.
    pub removed: Vec<String>,
}

/// An AUTO log file of the new configuration matches anything (the name is only
/// chosen when the group is added); an AUTO of the running group was resolved to a
/// generated name, which no explicit setting equals.
fn same_logfile(running: &LogFile, new: &LogFile) -> bool {
    *new == LogFile::Auto || running == new
}

fn same_channel(running: &ChannelConfig, new: &ChannelConfig) -> bool {
    same_logfile(&running.logfile, &new.logfile)
        && running.logfile_maxbytes == new.logfile_maxbytes
        && running.logfile_backups == new.logfile_backups
        && running.capture_maxbytes == new.capture_maxbytes
        && running.events_enabled == new.events_enabled
        && running.syslog == new.syslog
}

/// The reference's `ProcessConfig.__eq__`: every setting, where the section and file
/// a process came from do not count.
pub fn same_process(running: &ProcessConfig, new: &ProcessConfig) -> bool {
    running.name == new.name
        && running.command == new.command
        && running.directory == new.directory
        && running.umask == new.umask
        && running.priority == new.priority
        && running.autostart == new.autostart
        && running.autorestart == new.autorestart
        && running.startsecs == new.startsecs
        && running.startretries == new.startretries
        && running.uid == new.uid
        && same_channel(&running.stdout, &new.stdout)
        && same_channel(&running.stderr, &new.stderr)
        && running.stopsignal == new.stopsignal
        && running.stopwaitsecs == new.stopwaitsecs
        && running.stopasgroup == new.stopasgroup
        && running.killasgroup == new.killasgroup
        && running.exitcodes == new.exitcodes
        && running.redirect_stderr == new.redirect_stderr
        && running.environment == new.environment
        && running.serverurl == new.serverurl
}

/// The reference's group equality: name, priority, every process, plus the pool or
/// socket settings of listener and fcgi groups.
pub fn same_group(running: &GroupConfig, new: &GroupConfig) -> bool {
    let kinds_match = match (&running.kind, &new.kind) {
        (GroupKind::EventListener(a), GroupKind::EventListener(b)) => a == b,
        (GroupKind::FastCgi(a), GroupKind::FastCgi(b)) => a.url == b.url,
        (GroupKind::Program | GroupKind::Group, GroupKind::Program | GroupKind::Group) => true,
        _ => false,
    };
    kinds_match
        && running.name == new.name
        && running.priority == new.priority
        && running.processes.len() == new.processes.len()
        && running
            .processes
            .iter()
            .zip(&new.processes)
            .all(|(a, b)| same_process(a, b))
}

/// Compares the running groups (in the order they were added) with a new
/// configuration.
pub fn diff<'a>(running: impl IntoIterator<Item = &'a GroupConfig>, new: &Config) -> GroupChanges {
    let running: Vec<&GroupConfig> = running.into_iter().collect();
    let find_running = |name: &str| running.iter().copied().find(|g| g.name == name);
    let mut changes = GroupChanges::default();
    for group in &new.groups {
        match find_running(&group.name) {
            None => changes.added.push(group.name.clone()),
            Some(current) if !same_group(current, group) => {
                changes.changed.push(group.name.clone())
            }
            Some(_) => {}
        }
    }
    changes.removed = running
        .iter()
        .filter(|g| new.group(&g.name).is_none())
        .map(|g| g.name.clone())
        .collect();
    changes
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::config::{load_str, LoadOptions};

    fn config(text: &str) -> Config {
        let text = format!("[supervisord]\n{text}");
        match load_str(
            &text,
            Path::new("/tmp/d.conf"),
            &LoadOptions::for_test(Path::new("/tmp")),
        ) {
            Ok(c) => c,
            Err(e) => panic!("fixture does not load: {e}"),
        }
    }

    #[test]
    fn added_changed_removed() {
        let old =
            config("[program:a]\ncommand=x\n[program:b]\ncommand=y\n[program:c]\ncommand=z\n");
        let new = config(
            "[program:a]\ncommand=x\n[program:b]\ncommand=y2\n[program:d]\ncommand=w\npriority=1\n",
        );
        let changes = diff(&old.groups, &new);
        assert_eq!(changes.added, ["d"]);
        assert_eq!(changes.changed, ["b"]);
        assert_eq!(changes.removed, ["c"]);
    }

    #[test]
    fn auto_logs_compare_as_the_reference_does() {
        let auto = config("[program:a]\ncommand=x\n");
        let file = config("[program:a]\ncommand=x\nstdout_logfile=/tmp/a.log\n");
        assert!(
            diff(&file.groups, &auto).changed.is_empty(),
            "new AUTO matches anything"
        );
        assert_eq!(
            diff(&auto.groups, &file).changed,
            ["a"],
            "a resolved AUTO is no path"
        );
        let mut renamed = auto.clone();
        renamed.groups[0].processes[0].section_file = PathBuf::from("/elsewhere.conf");
        assert!(diff(&auto.groups, &renamed).changed.is_empty());
    }

    #[test]
    fn global_environment_changes_every_group() {
        let old = config("environment=A=1\n[program:a]\ncommand=x\n[program:b]\ncommand=y\n");
        let new = config("environment=A=2\n[program:a]\ncommand=x\n[program:b]\ncommand=y\n");
        assert_eq!(diff(&old.groups, &new).changed, ["a", "b"]);
    }

    #[test]
    fn pool_settings_count() {
        let old = config("[eventlistener:l]\ncommand=x\nevents=TICK_5\n");
        let new = config("[eventlistener:l]\ncommand=x\nevents=TICK_60\n");
        assert_eq!(diff(&old.groups, &new).changed, ["l"]);
    }
}
