//! The process table: active groups and their processes, addressed by stable ids, with
//! the reference's name resolution and orderings.
//!
//! Owns storage and lookup only; it never changes a process's state.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::config::GroupConfig;
use crate::log::capture::ProcessLogs;
use crate::process::{Process, ProcessState};

use super::api::Fault;

/// A stable handle on one process entry (never reused while the core runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ProcId(pub(crate) u64);

/// One supervised process and what the core keeps next to its state machine.
#[derive(Debug)]
pub(crate) struct Proc {
    pub(crate) machine: Process,
    /// The timer the machine asked for, if any.
    pub(crate) deadline: Option<Instant>,
    /// AUTO log files made when the group was added.
    pub(crate) auto_stdout: Option<PathBuf>,
    pub(crate) auto_stderr: Option<PathBuf>,
    /// Capture of the running child's output.
    pub(crate) logs: Option<ProcessLogs>,
    /// Listening socket shared by an fcgi group's processes.
    pub(crate) fcgi_socket: Option<Arc<std::os::fd::OwnedFd>>,
}

impl Proc {
    /// The resolved log file of a channel (configured path or AUTO file).
    pub(crate) fn logfile(&self, stderr: bool) -> Option<PathBuf> {
        let config = self.machine.config();
        let channel = config.channel(stderr);
        match &channel.logfile {
            crate::config::LogFile::Path(p) => Some(p.clone()),
            crate::config::LogFile::Auto => {
                if stderr {
                    self.auto_stderr.clone()
                } else {
                    self.auto_stdout.clone()
                }
            }
            crate::config::LogFile::None => None,
        }
    }

    pub(crate) fn state(&self) -> ProcessState {
        self.machine.state()
    }
}

/// An active group.
#[derive(Debug)]
pub(crate) struct Group {
    /// The group's own settings; `processes` is left empty, because each process's
    /// configuration is kept once, by its state machine (see [`Table::running_config`]).
    pub(crate) config: GroupConfig,
    /// Processes in (priority, name) order.
    pub(crate) procs: Vec<ProcId>,
    /// Processes in configuration order.
    pub(crate) configured: Vec<ProcId>,
}

/// Every active group, in the order they were added, and their processes.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub(crate) groups: Vec<Group>,
    pub(crate) procs: HashMap<ProcId, Proc>,
    pub(crate) by_pid: HashMap<u32, ProcId>,
    next_id: u64,
}

impl Table {
    pub(crate) fn new_id(&mut self) -> ProcId {
        self.next_id += 1;
        ProcId(self.next_id)
    }

    pub(crate) fn group_index(&self, name: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.config.name == name)
    }

    /// The process `name` designates, resolved like the reference's
    /// `_getGroupAndProcess`: `group:process`, or a bare name meaning `name:name`.
    /// Unknown names, and whole-group names (`group:*`, `group:`), are BAD_NAME with the
    /// name as given.
    pub(crate) fn process(&self, name: &str) -> Result<ProcId, Fault> {
        let bad = || Fault::BadName(name.to_string());
        let (group_name, process_name) = match name.split_once(':') {
            Some((_, "*")) | Some((_, "")) => return Err(bad()),
            Some((g, p)) => (g, p),
            None => (name, name),
        };
        let index = self.group_index(group_name).ok_or_else(bad)?;
        self.groups[index]
            .procs
            .iter()
            .copied()
            .find(|id| {
                self.procs
                    .get(id)
                    .is_some_and(|p| p.machine.name() == process_name)
            })
            .ok_or_else(bad)
    }

    /// The configuration group `index` runs, processes included, as it was added.
    pub(crate) fn running_config(&self, index: usize) -> GroupConfig {
        let group = &self.groups[index];
        GroupConfig {
            processes: group
                .configured
                .iter()
                .filter_map(|id| self.procs.get(id))
                .map(|p| p.machine.config().as_ref().clone())
                .collect(),
            ..group.config.clone()
        }
    }

    /// Groups in (priority, name) order: start order.
    pub(crate) fn groups_by_priority(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        order.sort_by(|a, b| {
            let (a, b) = (&self.groups[*a].config, &self.groups[*b].config);
            (a.priority, &a.name).cmp(&(b.priority, &b.name))
        });
        order
    }

    /// Every process in start order (group priority, then process priority).
    pub(crate) fn all_by_priority(&self) -> Vec<ProcId> {
        self.groups_by_priority()
            .into_iter()
            .flat_map(|g| self.groups[g].procs.iter().copied())
            .collect()
    }

    /// Every process sorted by group name, then process name (getAllProcessInfo).
    pub(crate) fn all_lexical(&self) -> Vec<ProcId> {
        let mut ids: Vec<ProcId> = self.procs.keys().copied().collect();
        ids.sort_by(|a, b| {
            let (a, b) = (&self.procs[a].machine, &self.procs[b].machine);
            (a.group(), a.name()).cmp(&(b.group(), b.name()))
        });
        ids
    }

    pub(crate) fn get(&self, id: ProcId) -> Option<&Proc> {
        self.procs.get(&id)
    }

    pub(crate) fn get_mut(&mut self, id: ProcId) -> Option<&mut Proc> {
        self.procs.get_mut(&id)
    }
}

impl Drop for Table {
    /// A core torn down before it stopped its children (its runtime was shut down)
    /// must not leave them running unsupervised: they get SIGKILL, to their process
    /// group when `killasgroup` says so. After a normal shutdown nothing runs any more.
    fn drop(&mut self) {
        for proc in self.procs.values() {
            let pid = proc.machine.pid();
            if pid != 0 {
                let to_group = proc.machine.config().killasgroup;
                let _ = crate::os::kill(pid as i32, libc::SIGKILL, to_group);
            }
        }
    }
}
