//! Table-driven tests of the transition table, with explicit instants.

use super::*;

use crate::config::ProcessConfig;

const PID: u32 = 4242;
const TERMINATED: ExitStatus = ExitStatus::Killed {
    signal: libc::SIGTERM,
    core_dumped: false,
};

/// Brings a fresh rig into one state.
type Builder = fn(Rig) -> Rig;

/// One process driven with explicit times: `ms` is milliseconds after `t0`.
struct Rig {
    t0: Instant,
    wall0: SystemTime,
    automatic_starts: bool,
    process: Process,
}

impl Rig {
    fn new(config: ProcessConfig) -> Rig {
        Rig {
            t0: Instant::now(),
            wall0: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            automatic_starts: true,
            process: Process::new("grp", Arc::new(config)),
        }
    }

    fn default() -> Rig {
        Rig::new(ProcessConfig::new("web", "/bin/web"))
    }

    fn with(edit: impl FnOnce(&mut ProcessConfig)) -> Rig {
        let mut config = ProcessConfig::new("web", "/bin/web");
        edit(&mut config);
        Rig::new(config)
    }

    fn t(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn ctx(&self, ms: u64) -> Ctx {
        Ctx {
            now: self.t(ms),
            wall: self.wall0 + Duration::from_millis(ms),
            automatic_starts: self.automatic_starts,
        }
    }

    fn feed(&mut self, ms: u64, input: Input) -> Vec<Effect> {
        let ctx = self.ctx(ms);
        self.process.on(input, &ctx)
    }

    fn state(&self) -> ProcessState {
        self.process.state()
    }

    // Builders for each state; each checks its own path only as far as reaching the state.

    /// STARTING with pid `PID`, started at 0 ms.
    fn starting(mut self) -> Rig {
        self.feed(0, Input::Start);
        self.feed(0, Input::Spawned { pid: PID });
        assert_eq!(self.state(), ProcessState::Starting);
        self
    }

    /// RUNNING since `startsecs` s + 1 ms.
    fn running(mut self) -> Rig {
        self = self.starting();
        let at = self.process.config().startsecs.max(0) as u64 * 1000 + 1;
        self.feed(at, Input::Deadline);
        assert_eq!(self.state(), ProcessState::Running);
        self
    }

    /// STOPPING since 5 s.
    fn stopping(mut self) -> Rig {
        self = self.running();
        self.feed(5_000, Input::Stop);
        assert_eq!(self.state(), ProcessState::Stopping);
        self
    }

    /// BACKOFF after one exit at 100 ms.
    fn backoff(mut self) -> Rig {
        self = self.starting();
        self.feed(
            100,
            Input::Exited {
                status: ExitStatus::Exited(1),
            },
        );
        assert_eq!(self.state(), ProcessState::Backoff);
        self
    }

    /// EXITED (expected, no autorestart) at 5 s.
    fn exited(mut self) -> Rig {
        self = self.running();
        self.feed(
            5_000,
            Input::Exited {
                status: ExitStatus::Exited(0),
            },
        );
        assert_eq!(self.state(), ProcessState::Exited);
        self
    }

    /// FATAL through a group stop's give-up at 200 ms.
    fn fatal(mut self) -> Rig {
        self = self.backoff();
        self.feed(200, Input::GroupStop);
        assert_eq!(self.state(), ProcessState::Fatal);
        self
    }

    /// STOPPED after a stop, at 6 s.
    fn stopped_after_run(mut self) -> Rig {
        self = self.stopping();
        self.feed(6_000, Input::Exited { status: TERMINATED });
        assert_eq!(self.state(), ProcessState::Stopped);
        self
    }

    /// UNKNOWN, child still there, after a failing stop at 5 s.
    fn unknown(mut self) -> Rig {
        self = self.stopping();
        self.feed(
            5_000,
            Input::KillFailed {
                pid: PID,
                kind: KillKind::Stop,
                error: KillError::Other("EPERM".into()),
            },
        );
        assert_eq!(self.state(), ProcessState::Unknown);
        self
    }
}

fn log(level: LogLevel, text: &str) -> Effect {
    Effect::Log {
        level,
        text: text.to_string(),
    }
}

fn info(text: &str) -> Effect {
    log(LogLevel::Info, text)
}

fn warn(text: &str) -> Effect {
    log(LogLevel::Warn, text)
}

fn debug(text: &str) -> Effect {
    log(LogLevel::Debug, text)
}

fn tr(from: ProcessState, to: ProcessState, pid: u32, tries: u32) -> Effect {
    Effect::Transition {
        from,
        to,
        pid,
        tries,
        expected: true,
    }
}

fn kill(signal: Signal, to_group: bool) -> Effect {
    Effect::Kill {
        pid: PID,
        signal,
        to_group,
        kind: KillKind::Stop,
    }
}

fn refused(text: &str) -> Vec<Effect> {
    vec![
        debug(text),
        Effect::Refused {
            message: text.to_string(),
        },
    ]
}

fn exit(code: i32) -> Input {
    Input::Exited {
        status: ExitStatus::Exited(code),
    }
}

use ProcessState::*;

#[test]
fn a_new_process_is_stopped_and_never_started() {
    let rig = Rig::default();
    let p = &rig.process;
    assert_eq!(p.state(), Stopped);
    assert_eq!((p.name(), p.group(), p.pid()), ("web", "grp", 0));
    assert_eq!(p.last_start(), None);
    assert_eq!(p.last_stop(), None);
    assert_eq!((p.exit_status(), p.spawn_error()), (None, None));
    assert_eq!((p.backoff(), p.deadline(), p.killing()), (0, None, false));
}

#[test]
fn autostart_spawns_a_never_started_process() {
    let mut rig = Rig::default();
    assert_eq!(
        rig.feed(7, Input::AutoStart),
        vec![tr(Stopped, Starting, 0, 0), Effect::Spawn]
    );
    let start = rig.process.last_start().expect("start recorded");
    assert_eq!(start.instant, rig.t(7));
    assert_eq!(start.wall, rig.wall0 + Duration::from_millis(7));
    assert_eq!(rig.process.pid(), 0);
}

#[test]
fn autostart_is_skipped_when_off_shutting_down_or_already_started() {
    let mut rig = Rig::with(|c| c.autostart = false);
    assert_eq!(rig.feed(0, Input::AutoStart), vec![]);

    let mut rig = Rig::default();
    rig.automatic_starts = false;
    assert_eq!(rig.feed(0, Input::AutoStart), vec![]);
    assert_eq!(rig.state(), Stopped);

    let mut rig = Rig::default().stopped_after_run();
    assert_eq!(rig.feed(7_000, Input::AutoStart), vec![]);
    assert_eq!(rig.state(), Stopped);
}

#[test]
fn spawned_logs_and_arms_the_startsecs_deadline_from_the_start_time() {
    let mut rig = Rig::default();
    rig.feed(0, Input::Start);
    assert_eq!(
        rig.feed(3, Input::Spawned { pid: PID }),
        vec![
            info("spawned: 'web' with pid 4242"),
            Effect::ArmDeadline(rig.t(1_000)),
        ]
    );
    assert_eq!(rig.process.pid(), PID);
}

#[test]
fn running_needs_strictly_more_than_startsecs() {
    let mut rig = Rig::default().starting();
    // An early timer re-arms the same deadline.
    assert_eq!(
        rig.feed(500, Input::Deadline),
        vec![Effect::ArmDeadline(rig.t(1_000))]
    );
    // Exactly startsecs is not enough.
    assert_eq!(
        rig.feed(1_000, Input::Deadline),
        vec![Effect::ArmDeadline(rig.t(1_001))]
    );
    assert_eq!(rig.state(), Starting);
    assert_eq!(
        rig.feed(1_001, Input::Deadline),
        vec![
            tr(Starting, Running, PID, 0),
            info("success: web entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)"),
        ]
    );
    assert_eq!(rig.process.deadline(), None);
}

#[test]
fn startsecs_zero_reaches_running_on_the_immediate_deadline() {
    let mut rig = Rig::with(|c| c.startsecs = 0);
    rig.feed(0, Input::Start);
    assert_eq!(
        rig.feed(0, Input::Spawned { pid: PID }),
        vec![
            info("spawned: 'web' with pid 4242"),
            Effect::ArmDeadline(rig.t(0)),
        ]
    );
    assert_eq!(
        rig.feed(2, Input::Deadline),
        vec![
            tr(Starting, Running, PID, 0),
            info("success: web entered RUNNING state, process has stayed up for > than 0 seconds (startsecs)"),
        ]
    );
}

#[test]
fn startsecs_zero_quick_exit_reports_running_then_exited() {
    let mut rig = Rig::with(|c| c.startsecs = 0);
    rig.feed(0, Input::Start);
    rig.feed(0, Input::Spawned { pid: PID });
    assert_eq!(
        rig.feed(0, exit(0)),
        vec![
            Effect::CancelDeadline,
            tr(Starting, Running, PID, 0),
            tr(Running, Exited, PID, 0),
            info("exited: web (exit status 0; expected)"),
        ]
    );
    assert_eq!(rig.process.pid(), 0);
    assert_eq!(rig.process.exit_status(), Some(0));
    assert_eq!(rig.process.spawn_error(), None);
}

#[test]
fn exit_at_exactly_startsecs_before_the_deadline_ran_is_not_too_quick() {
    let mut rig = Rig::default().starting();
    assert_eq!(
        rig.feed(1_000, exit(0)),
        vec![
            Effect::CancelDeadline,
            tr(Starting, Running, PID, 0),
            tr(Running, Exited, PID, 0),
            info("exited: web (exit status 0; expected)"),
        ]
    );
}

#[test]
fn exit_before_startsecs_is_a_failure_even_with_an_expected_code() {
    let mut rig = Rig::default().starting();
    assert_eq!(
        rig.feed(500, exit(0)),
        vec![
            Effect::ArmDeadline(rig.t(1_500)),
            tr(Starting, Backoff, PID, 1),
            warn("exited: web (exit status 0; not expected)"),
        ]
    );
    let p = &rig.process;
    assert_eq!(p.spawn_error(), Some(EXITED_TOO_QUICKLY));
    assert_eq!(p.exit_status(), None);
    assert_eq!((p.pid(), p.backoff()), (0, 1));
    assert_eq!(p.last_stop().map(|m| m.instant), Some(rig.t(500)));
}

#[test]
fn quick_signal_death_is_described_with_the_signal() {
    let mut rig = Rig::default().starting();
    let status = ExitStatus::Killed {
        signal: libc::SIGSEGV,
        core_dumped: true,
    };
    let fx = rig.feed(10, Input::Exited { status });
    assert_eq!(
        fx.last(),
        Some(&warn(
            "exited: web (terminated by SIGSEGV (core dumped); not expected)"
        ))
    );
}

#[test]
fn startretries_three_means_four_spawns_then_fatal() {
    let mut rig = Rig::default();
    let mut spawns = 0;
    let mut now = 0;
    let mut fx = rig.feed(now, Input::Start);
    for attempt in 1..=4u32 {
        assert_eq!(fx.last(), Some(&Effect::Spawn), "attempt {attempt}");
        spawns += 1;
        rig.feed(now, Input::Spawned { pid: PID });
        now += 200;
        let fail = rig.feed(now, exit(1));
        // Retries wait 1 s, 2 s, 3 s; after the fourth failure the give-up is due at once.
        let wait = if attempt < 4 {
            u64::from(attempt) * 1_000
        } else {
            0
        };
        assert_eq!(
            fail[..2],
            [
                Effect::ArmDeadline(rig.t(now + wait)),
                tr(Starting, Backoff, PID, attempt)
            ],
            "attempt {attempt}"
        );
        now += wait;
        fx = rig.feed(now, Input::Deadline);
        if attempt < 4 {
            assert_eq!(
                fx,
                vec![tr(Backoff, Starting, 0, attempt), Effect::Spawn],
                "attempt {attempt}"
            );
        }
    }
    assert_eq!(spawns, 4);
    assert_eq!(
        fx,
        vec![
            tr(Backoff, Fatal, 0, 0),
            info("gave up: web entered FATAL state, too many start retries too quickly"),
        ]
    );
    assert_eq!(rig.process.backoff(), 0);
    assert_eq!(rig.process.spawn_error(), Some(EXITED_TOO_QUICKLY));
}

#[test]
fn startretries_zero_gives_up_after_the_first_failure() {
    let mut rig = Rig::with(|c| c.startretries = 0).starting();
    let fx = rig.feed(100, exit(1));
    assert_eq!(
        fx[..2],
        [
            Effect::ArmDeadline(rig.t(100)),
            tr(Starting, Backoff, PID, 1)
        ]
    );
    assert_eq!(
        rig.feed(100, Input::Deadline),
        vec![
            tr(Backoff, Fatal, 0, 0),
            info("gave up: web entered FATAL state, too many start retries too quickly"),
        ]
    );
}

#[test]
fn spawn_failure_in_the_parent_goes_to_backoff() {
    let mut rig = Rig::default();
    rig.feed(0, Input::Start);
    assert_eq!(
        rig.feed(
            0,
            Input::SpawnFailed {
                message: "can't find command 'nope'".into()
            }
        ),
        vec![
            info("spawnerr: can't find command 'nope'"),
            Effect::ArmDeadline(rig.t(1_000)),
            tr(Starting, Backoff, 0, 1),
        ]
    );
    assert_eq!(rig.process.spawn_error(), Some("can't find command 'nope'"));
    assert_eq!(
        rig.feed(1_000, Input::Deadline),
        vec![tr(Backoff, Starting, 0, 1), Effect::Spawn]
    );
    // A new start clears the previous error.
    assert_eq!(rig.process.spawn_error(), None);
}

#[test]
fn backoff_deadline_early_rearms() {
    let mut rig = Rig::default().backoff();
    assert_eq!(
        rig.feed(600, Input::Deadline),
        vec![Effect::ArmDeadline(rig.t(1_100))]
    );
    assert_eq!(rig.state(), Backoff);
}

#[test]
fn no_backoff_retry_while_shutting_down_but_give_up_still_happens() {
    let mut rig = Rig::default().backoff();
    rig.automatic_starts = false;
    assert_eq!(rig.feed(1_100, Input::Deadline), vec![]);
    assert_eq!((rig.state(), rig.process.deadline()), (Backoff, None));

    let mut rig = Rig::with(|c| c.startretries = 0).backoff();
    rig.automatic_starts = false;
    assert_eq!(rig.feed(100, Input::Deadline)[0], tr(Backoff, Fatal, 0, 0));
}

#[test]
fn reaching_running_resets_the_retry_counter() {
    let mut rig = Rig::default().backoff();
    rig.feed(1_100, Input::Deadline);
    rig.feed(1_100, Input::Spawned { pid: PID });
    assert_eq!(rig.process.backoff(), 1);
    assert_eq!(
        rig.feed(2_101, Input::Deadline)[0],
        tr(Starting, Running, PID, 0)
    );
    assert_eq!(rig.process.backoff(), 0);
}

#[test]
fn stop_in_backoff_is_immediate_and_keeps_the_counter() {
    let mut rig = Rig::default().backoff();
    assert_eq!(
        rig.feed(300, Input::Stop),
        vec![
            debug("Attempted to kill web, which is in BACKOFF state."),
            Effect::CancelDeadline,
            tr(Backoff, Stopped, 0, 1),
        ]
    );
    assert_eq!(rig.process.backoff(), 1);
    // The next manual start has fewer retries left.
    assert_eq!(
        rig.feed(400, Input::Start),
        vec![tr(Stopped, Starting, 0, 1), Effect::Spawn]
    );
}

#[test]
fn group_stop_in_backoff_gives_up_without_a_log_line() {
    let mut rig = Rig::default().backoff();
    assert_eq!(
        rig.feed(300, Input::GroupStop),
        vec![Effect::CancelDeadline, tr(Backoff, Fatal, 0, 0)]
    );
    assert_eq!(rig.process.backoff(), 0);
}

#[test]
fn stop_sends_the_stop_signal_and_arms_stopwaitsecs() {
    let mut rig = Rig::default().running();
    assert_eq!(
        rig.feed(5_000, Input::Stop),
        vec![
            debug("killing web (pid 4242) with signal SIGTERM"),
            Effect::ArmDeadline(rig.t(15_000)),
            tr(Running, Stopping, PID, 0),
            kill(Signal::TERM, false),
        ]
    );
    assert!(rig.process.killing());
}

#[test]
fn stop_and_group_stop_from_starting_and_running_are_the_same() {
    for state_builder in [Rig::starting as Builder, Rig::running] {
        for input in [Input::Stop, Input::GroupStop] {
            let mut rig = state_builder(Rig::default());
            let from = rig.state();
            let fx = rig.feed(5_000, input.clone());
            assert_eq!(fx[2], tr(from, Stopping, PID, 0), "{from} {input:?}");
            assert_eq!(fx[3], kill(Signal::TERM, false));
        }
    }
}

#[test]
fn stopasgroup_signals_the_group_with_the_configured_signal() {
    let mut rig = Rig::with(|c| {
        c.stopsignal = Signal(libc::SIGINT);
        c.stopasgroup = true;
        c.killasgroup = true;
    })
    .running();
    let fx = rig.feed(5_000, Input::Stop);
    assert_eq!(
        fx[0],
        debug("killing web (pid 4242) process group with signal SIGINT")
    );
    assert_eq!(fx[3], kill(Signal(libc::SIGINT), true));
}

#[test]
fn sigkill_is_sent_after_stopwaitsecs_and_repeated() {
    let mut rig = Rig::with(|c| c.killasgroup = true).stopping();
    // Stop went to the pid (stopasgroup=false); SIGKILL follows killasgroup.
    for round in 1..=3u64 {
        let at = 5_000 + round * 10_000;
        assert_eq!(
            rig.feed(at, Input::Deadline),
            vec![
                warn("killing 'web' (4242) with SIGKILL"),
                debug("killing web (pid 4242) process group with signal SIGKILL"),
                Effect::ArmDeadline(rig.t(at + 10_000)),
                kill(Signal::KILL, true),
            ],
            "round {round}"
        );
        assert_eq!(rig.state(), Stopping);
    }
}

#[test]
fn stopwaitsecs_zero_kills_at_once_then_at_most_once_a_second() {
    let mut rig = Rig::with(|c| c.stopwaitsecs = 0).running();
    let fx = rig.feed(5_000, Input::Stop);
    assert_eq!(fx[1], Effect::ArmDeadline(rig.t(5_000)));
    let fx = rig.feed(5_000, Input::Deadline);
    assert_eq!(fx[2], Effect::ArmDeadline(rig.t(6_000)));
    assert_eq!(fx[3], kill(Signal::KILL, false));
}

#[test]
fn reaped_while_stopping_is_stopped_whatever_the_status() {
    // (status, level, text)
    let table = [
        (
            TERMINATED,
            LogLevel::Warn,
            "stopped: web (terminated by SIGTERM)",
        ),
        (
            ExitStatus::Exited(0),
            LogLevel::Info,
            "stopped: web (exit status 0)",
        ),
        (
            ExitStatus::Exited(3),
            LogLevel::Warn,
            "stopped: web (exit status 3)",
        ),
    ];
    for (status, level, text) in table {
        let mut rig = Rig::with(|c| c.autorestart = AutoRestart::Always).stopping();
        assert_eq!(
            rig.feed(6_000, Input::Exited { status }),
            vec![
                Effect::CancelDeadline,
                tr(Stopping, Stopped, PID, 0),
                log(level, text),
            ],
            "{status}"
        );
        let p = &rig.process;
        assert_eq!((p.pid(), p.killing()), (0, false));
        assert_eq!(p.exit_status(), Some(status.code()));
        assert_eq!(p.last_stop().map(|m| m.instant), Some(rig.t(6_000)));
    }
}

#[test]
fn stopped_line_is_info_when_the_status_is_in_exitcodes() {
    let mut rig = Rig::with(|c| c.exitcodes = vec![-1]).stopping();
    let fx = rig.feed(6_000, Input::Exited { status: TERMINATED });
    assert_eq!(fx[2], info("stopped: web (terminated by SIGTERM)"));
}

#[test]
fn stop_without_a_child_is_refused_with_the_reference_message() {
    for builder in [
        (|r: Rig| r) as Builder,
        Rig::exited,
        Rig::fatal,
        Rig::stopped_after_run,
    ] {
        let mut rig = builder(Rig::default());
        let state = rig.state();
        assert_eq!(
            rig.feed(9_000, Input::Stop),
            refused("attempted to kill web with sig SIGTERM but it wasn't running"),
            "{state}"
        );
        assert_eq!(rig.state(), state);
    }
    // STARTING between Spawn and its answer has no pid either.
    let mut rig = Rig::with(|c| c.stopsignal = Signal(libc::SIGQUIT));
    rig.feed(0, Input::Start);
    assert_eq!(
        rig.feed(0, Input::Stop),
        refused("attempted to kill web with sig SIGQUIT but it wasn't running")
    );
}

#[test]
fn exit_from_running_is_expected_or_not_by_exitcodes_and_restarts_by_policy() {
    // (autorestart, status, expected, log, restarts)
    let table = [
        (
            AutoRestart::Unexpected,
            ExitStatus::Exited(0),
            true,
            "exited: web (exit status 0; expected)",
            false,
        ),
        (
            AutoRestart::Unexpected,
            ExitStatus::Exited(3),
            false,
            "exited: web (exit status 3; not expected)",
            true,
        ),
        (
            AutoRestart::Unexpected,
            TERMINATED,
            false,
            "exited: web (terminated by SIGTERM; not expected)",
            true,
        ),
        (
            AutoRestart::Always,
            ExitStatus::Exited(0),
            true,
            "exited: web (exit status 0; expected)",
            true,
        ),
        (
            AutoRestart::Never,
            ExitStatus::Exited(3),
            false,
            "exited: web (exit status 3; not expected)",
            false,
        ),
    ];
    for (policy, status, expected, text, restarts) in table {
        let mut rig = Rig::with(|c| c.autorestart = policy).running();
        let mut want = vec![
            Effect::Transition {
                from: Running,
                to: Exited,
                pid: PID,
                tries: 0,
                expected,
            },
            if expected { info(text) } else { warn(text) },
        ];
        if restarts {
            want.extend([tr(Exited, Starting, 0, 0), Effect::Spawn]);
        }
        assert_eq!(
            rig.feed(9_000, Input::Exited { status }),
            want,
            "{policy:?} {status}"
        );
        let p = &rig.process;
        let bad = format!("Bad exit code {}", status.code());
        let want_err = (!expected).then_some(bad.as_str());
        if restarts {
            assert_eq!(
                (p.state(), p.exit_status(), p.spawn_error()),
                (Starting, None, None)
            );
        } else {
            assert_eq!(p.state(), Exited);
            assert_eq!(p.exit_status(), Some(status.code()));
            assert_eq!(p.spawn_error(), want_err);
        }
    }
}

#[test]
fn no_autorestart_while_shutting_down() {
    let mut rig = Rig::with(|c| c.autorestart = AutoRestart::Always).running();
    rig.automatic_starts = false;
    let fx = rig.feed(9_000, exit(0));
    assert_eq!(fx.len(), 2);
    assert_eq!(rig.state(), Exited);
}

#[test]
fn autorestarts_are_unlimited_and_reset_the_counter() {
    let mut rig = Rig::with(|c| c.autorestart = AutoRestart::Always).running();
    let mut now = 2_000;
    for round in 0..10 {
        let fx = rig.feed(now, exit(0));
        assert_eq!(fx.last(), Some(&Effect::Spawn), "round {round}");
        rig.feed(now, Input::Spawned { pid: PID });
        now += 1_001;
        rig.feed(now, Input::Deadline);
        assert_eq!(rig.state(), Running, "round {round}");
        now += 1_000;
    }
}

#[test]
fn manual_start_from_stopped_exited_and_fatal_spawns() {
    for builder in [
        (|r: Rig| r) as Builder,
        Rig::exited,
        Rig::fatal,
        Rig::stopped_after_run,
    ] {
        let mut rig = builder(Rig::default());
        let from = rig.state();
        assert!(rig.process.can_start(), "{from}");
        assert_eq!(
            rig.feed(9_000, Input::Start),
            vec![tr(from, Starting, 0, 0), Effect::Spawn],
            "{from}"
        );
        let p = &rig.process;
        assert_eq!(
            (p.exit_status(), p.spawn_error(), p.killing()),
            (None, None, false)
        );
        assert_eq!(p.last_start().map(|m| m.instant), Some(rig.t(9_000)));
    }
}

#[test]
fn manual_start_in_backoff_spawns_at_once() {
    let mut rig = Rig::default().backoff();
    assert_eq!(
        rig.feed(300, Input::Start),
        vec![
            Effect::CancelDeadline,
            tr(Backoff, Starting, 0, 1),
            Effect::Spawn
        ]
    );
}

#[test]
fn start_with_a_live_child_only_warns() {
    for builder in [
        Rig::starting as Builder,
        Rig::running,
        Rig::stopping,
        Rig::unknown,
    ] {
        let mut rig = builder(Rig::default());
        let state = rig.state();
        assert_eq!(
            rig.feed(9_000, Input::Start),
            vec![warn("process 'web' already running")],
            "{state}"
        );
        assert_eq!(rig.state(), state);
    }
}

#[test]
fn signal_goes_to_the_pid_without_a_state_change() {
    for builder in [Rig::starting as Builder, Rig::running, Rig::stopping] {
        let mut rig = builder(Rig::with(|c| c.stopasgroup = true));
        let state = rig.state();
        assert_eq!(
            rig.feed(
                9_000,
                Input::Signal {
                    signal: Signal(libc::SIGHUP)
                }
            ),
            vec![
                debug("sending web (pid 4242) sig SIGHUP"),
                Effect::Kill {
                    pid: PID,
                    signal: Signal(libc::SIGHUP),
                    to_group: false,
                    kind: KillKind::Signal,
                },
            ],
            "{state}"
        );
        assert_eq!(rig.state(), state);
    }
}

#[test]
fn signal_without_a_child_is_refused() {
    for builder in [
        (|r: Rig| r) as Builder,
        Rig::backoff,
        Rig::exited,
        Rig::fatal,
    ] {
        let mut rig = builder(Rig::default());
        let state = rig.state();
        assert_eq!(
            rig.feed(9_000, Input::Signal { signal: Signal(99) }),
            refused("attempted to send web sig signal 99 but it wasn't running"),
            "{state}"
        );
    }
}

#[test]
fn kill_that_finds_no_process_only_logs() {
    // (kind, text)
    let table = [
        (
            KillKind::Stop,
            "unable to signal web (pid 4242), it probably just exited on its own: [Errno 3] No such process",
        ),
        (
            KillKind::Signal,
            "unable to signal web (pid 4242), it probably just now exited on its own: [Errno 3] No such process",
        ),
    ];
    for (kind, text) in table {
        let mut rig = Rig::default().stopping();
        let error = KillError::NoSuchProcess("[Errno 3] No such process".into());
        assert_eq!(
            rig.feed(
                5_000,
                Input::KillFailed {
                    pid: PID,
                    kind,
                    error
                }
            ),
            vec![debug(text)]
        );
        assert_eq!(rig.state(), Stopping);
        assert_eq!(rig.process.deadline(), Some(rig.t(15_000)));
    }
}

#[test]
fn other_kill_errors_make_the_process_unknown() {
    let mut rig = Rig::default().stopping();
    let text = "unknown problem killing web (4242):[Errno 1] Operation not permitted";
    assert_eq!(
        rig.feed(
            5_000,
            Input::KillFailed {
                pid: PID,
                kind: KillKind::Stop,
                error: KillError::Other("[Errno 1] Operation not permitted".into()),
            }
        ),
        vec![
            log(LogLevel::Critical, text),
            Effect::CancelDeadline,
            tr(Stopping, Unknown, PID, 0),
            Effect::Refused {
                message: text.into()
            },
        ]
    );
    assert!(!rig.process.killing());
    assert_eq!(rig.process.pid(), PID);

    let mut rig = Rig::default().running();
    let text = "unknown problem sending sig web (4242):EPERM";
    assert_eq!(
        rig.feed(
            5_000,
            Input::KillFailed {
                pid: PID,
                kind: KillKind::Signal,
                error: KillError::Other("EPERM".into()),
            }
        ),
        vec![
            log(LogLevel::Critical, text),
            tr(Running, Unknown, PID, 0),
            Effect::Refused {
                message: text.into()
            },
        ]
    );
}

#[test]
fn kill_failure_for_another_pid_is_stale() {
    let mut rig = Rig::default().stopping();
    let input = Input::KillFailed {
        pid: PID + 1,
        kind: KillKind::Stop,
        error: KillError::Other("EPERM".into()),
    };
    assert_eq!(rig.feed(5_000, input), vec![]);
    assert_eq!(rig.state(), Stopping);
}

#[test]
fn unknown_process_reaped_records_the_exit_and_stays_unknown() {
    let mut rig = Rig::default().unknown();
    assert_eq!(
        rig.feed(7_000, Input::Exited { status: TERMINATED }),
        vec![warn("exited: web (terminated by SIGTERM; not expected)")]
    );
    let p = &rig.process;
    assert_eq!(
        (p.state(), p.pid(), p.exit_status()),
        (Unknown, 0, Some(-1))
    );
    assert!(!p.can_start());
}

#[test]
fn stop_wait_report_is_throttled_to_every_two_seconds() {
    let mut rig = Rig::default().stopping();
    let line = vec![info("waiting for web to stop")];
    assert_eq!(rig.feed(5_000, Input::StopWaitReport), line);
    assert_eq!(rig.feed(6_000, Input::StopWaitReport), vec![]);
    assert_eq!(rig.feed(7_000, Input::StopWaitReport), vec![]);
    assert_eq!(rig.feed(7_001, Input::StopWaitReport), line);
    assert_eq!(rig.feed(8_000, Input::StopWaitReport), vec![]);
}

#[test]
fn rpc_checks_follow_the_state_sets() {
    // (builder, can_start, can_stop, can_signal)
    let table: [(Builder, bool, bool, bool); 8] = [
        (|r| r, true, false, false),
        (Rig::starting, false, true, true),
        (Rig::running, false, true, true),
        (Rig::backoff, false, true, false),
        (Rig::stopping, false, false, true),
        (Rig::exited, true, false, false),
        (Rig::fatal, true, false, false),
        (Rig::unknown, false, false, false),
    ];
    for (builder, start, stop, signal) in table {
        let rig = builder(Rig::default());
        let p = &rig.process;
        let state = p.state();
        assert_eq!(
            (p.can_start(), p.can_stop(), p.can_signal()),
            (start, stop, signal),
            "{state}"
        );
    }
}

#[test]
fn values_beyond_the_clock_never_arm_and_never_panic() {
    let mut rig = Rig::with(|c| {
        c.startsecs = i64::MAX;
        c.stopwaitsecs = i64::MAX;
    });
    rig.feed(0, Input::Start);
    assert_eq!(
        rig.feed(0, Input::Spawned { pid: PID }),
        vec![info("spawned: 'web' with pid 4242")]
    );
    let fx = rig.feed(10, Input::Stop);
    assert_eq!(
        fx,
        vec![
            debug("killing web (pid 4242) with signal SIGTERM"),
            tr(Starting, Stopping, PID, 0),
            kill(Signal::TERM, false),
        ]
    );
    assert_eq!(rig.process.deadline(), None);
}

#[test]
fn negative_startsecs_never_counts_an_exit_as_too_quick() {
    let mut rig = Rig::with(|c| c.startsecs = -5).starting();
    let fx = rig.feed(0, exit(0));
    assert_eq!(
        fx[1..3],
        [tr(Starting, Running, PID, 0), tr(Running, Exited, PID, 0)]
    );
}

/// Every (state, input) pair: `true` where the input is ignored (no effect, no change).
#[test]
fn ignored_pairs_are_exactly_the_documented_ones() {
    let builders: [(ProcessState, Builder); 8] = [
        (Stopped, |r| r),
        (Starting, Rig::starting),
        (Running, Rig::running),
        (Backoff, Rig::backoff),
        (Stopping, Rig::stopping),
        (Exited, Rig::exited),
        (Fatal, Rig::fatal),
        (Unknown, Rig::unknown),
    ];
    let inputs = [
        Input::Start,
        Input::AutoStart,
        Input::Stop,
        Input::GroupStop,
        Input::Signal {
            signal: Signal::TERM,
        },
        Input::Spawned { pid: PID + 1 },
        Input::SpawnFailed {
            message: "boom".into(),
        },
        Input::Exited {
            status: ExitStatus::Exited(0),
        },
        Input::Deadline,
        Input::KillFailed {
            pid: PID,
            kind: KillKind::Stop,
            error: KillError::Other("EPERM".into()),
        },
        Input::StopWaitReport,
    ];
    // Rows: states in code order; columns: inputs above. `.` = ignored, `x` = acts.
    // The deadline column is fed far in the future so any armed deadline is due.
    let expected = [
        "xxx.x......", // STOPPED: never started, so AutoStart acts
        "x.xxx..xxx.", // STARTING with a pid
        "x.xxx..x.x.", // RUNNING: no deadline is armed
        "x.xxx...x..", // BACKOFF
        "x...x..xxxx", // STOPPING
        "x.x.x......", // EXITED
        "x.x.x......", // FATAL
        "x......x...", // UNKNOWN with a pid
    ];
    for ((state, builder), row) in builders.into_iter().zip(expected) {
        for (input, mark) in inputs.iter().zip(row.chars()) {
            let mut rig = builder(Rig::default());
            assert_eq!(rig.state(), state);
            let before = format!("{:?}", rig.process);
            let fx = rig.feed(100_000, input.clone());
            let ignored = fx.is_empty() && format!("{:?}", rig.process) == before;
            assert_eq!(ignored, mark == '.', "{state} {input:?}: {fx:?}");
        }
    }
}

/// A process that is RUNNING at once (`startsecs=0`) and restarts on every exit.
fn instant_runner() -> Rig {
    let mut rig = Rig::with(|c| {
        c.autorestart = AutoRestart::Always;
        c.startsecs = 0;
    })
    .running();
    assert_eq!(rig.process.last_start().map(|m| m.instant), Some(rig.t(0)));
    rig.feed(1, Input::Deadline);
    rig
}

/// Brings a restarted child to RUNNING (`startsecs=0`) at `at` ms.
fn respawned(rig: &mut Rig, at: u64) {
    rig.feed(at, Input::Spawned { pid: PID });
    rig.feed(at + 1, Input::Deadline);
    assert_eq!(rig.state(), Running);
}

/// Lets an instant runner exit ten times in a row at 200 ms, every restart granted at
/// once, then exit once more: that restart is armed for 1,200 ms, not spawned.
fn exhaust_restart_burst(rig: &mut Rig) {
    for round in 0..10 {
        let at = 200 + 2 * round;
        let fx = rig.feed(at, exit(0));
        assert_eq!(fx.last(), Some(&Effect::Spawn), "round {round}: {fx:?}");
        respawned(rig, at);
    }
    let fx = rig.feed(220, exit(0));
    assert!(!fx.contains(&Effect::Spawn), "{fx:?}");
    assert_eq!(fx.last(), Some(&Effect::ArmDeadline(rig.t(1_200))));
    assert_eq!(rig.state(), Exited);
}

#[test]
fn a_burst_of_ten_restarts_comes_at_once_then_one_a_second() {
    let mut rig = instant_runner();
    exhaust_restart_burst(&mut rig);

    let early = rig.feed(600, Input::Deadline);
    assert_eq!(early, vec![Effect::ArmDeadline(rig.t(1_200))]);
    assert_eq!(rig.state(), Exited);

    let fx = rig.feed(1_200, Input::Deadline);
    assert_eq!(fx.last(), Some(&Effect::Spawn), "{fx:?}");
    assert_eq!(rig.state(), Starting);
    respawned(&mut rig, 1_200);
    let fx = rig.feed(1_202, exit(0));
    assert_eq!(fx.last(), Some(&Effect::ArmDeadline(rig.t(2_200))));
}

#[test]
fn restarts_a_second_apart_never_wait() {
    let mut rig = instant_runner();
    for round in 1..=30 {
        let at = round * 1_000;
        let fx = rig.feed(at, exit(0));
        assert_eq!(fx.last(), Some(&Effect::Spawn), "round {round}: {fx:?}");
        respawned(&mut rig, at);
    }
}

#[test]
fn the_burst_comes_back_at_one_restart_a_second() {
    let mut rig = instant_runner();
    exhaust_restart_burst(&mut rig);
    rig.feed(1_200, Input::Deadline);
    respawned(&mut rig, 1_200);
    // The burst was used up at 1,200 ms; seven seconds later seven restarts are free.
    for round in 0..7 {
        let at = 8_200 + 2 * round;
        let fx = rig.feed(at, exit(0));
        assert_eq!(fx.last(), Some(&Effect::Spawn), "round {round}: {fx:?}");
        respawned(&mut rig, at);
    }
    let fx = rig.feed(8_214, exit(0));
    assert!(!fx.contains(&Effect::Spawn), "{fx:?}");
}

#[test]
fn a_paced_restart_is_dropped_once_automatic_starts_stop() {
    let mut rig = instant_runner();
    exhaust_restart_burst(&mut rig);
    rig.automatic_starts = false;
    assert_eq!(rig.feed(1_200, Input::Deadline), vec![]);
    assert_eq!(rig.state(), Exited);
}

#[test]
fn a_manual_start_during_pacing_spawns_at_once() {
    let mut rig = instant_runner();
    exhaust_restart_burst(&mut rig);
    let fx = rig.feed(300, Input::Start);
    assert_eq!(fx.last(), Some(&Effect::Spawn), "{fx:?}");
    assert_eq!(rig.state(), Starting);
}
