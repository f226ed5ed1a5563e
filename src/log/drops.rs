//! Accounting for bytes that could not be written: a failure "episode" starts at the
//! first failed write and ends at the next successful one, so a full disk produces
//! two activity-log lines (start and summary), not one per write.

use crate::log::rotate::WriteError;

/// What the owner of a file should report after a write attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DropNotice {
    /// Writing just started failing with this error.
    Started {
        /// The error text (path and cause).
        error: String,
    },
    /// Writing works again after an episode that lost `bytes` bytes.
    Ended {
        /// Bytes lost during the episode.
        bytes: u64,
        /// The error that started the episode.
        error: String,
    },
}

/// Dropped-byte counters of one log file.
#[derive(Debug, Default)]
pub(crate) struct DropTracker {
    total: u64,
    episode: Option<(u64, String)>,
}

impl DropTracker {
    /// Records a failed write (or rotation) that lost `error.unwritten` bytes.
    pub(crate) fn failed(&mut self, error: &WriteError) -> Option<DropNotice> {
        self.lost(error.unwritten as u64, error.to_string())
    }

    /// Records `bytes` lost for a reason that is not a write error (no file open).
    pub(crate) fn lost(&mut self, bytes: u64, reason: String) -> Option<DropNotice> {
        self.total += bytes;
        match &mut self.episode {
            Some((lost, _)) => {
                *lost += bytes;
                None
            }
            None => {
                self.episode = Some((bytes, reason.clone()));
                Some(DropNotice::Started { error: reason })
            }
        }
    }

    /// Records a successful write; ends the current episode if there is one.
    pub(crate) fn succeeded(&mut self) -> Option<DropNotice> {
        self.episode
            .take()
            .map(|(bytes, error)| DropNotice::Ended { bytes, error })
    }

    /// Ends the current episode without a successful write (the file is closing).
    pub(crate) fn close(&mut self) -> Option<DropNotice> {
        self.succeeded()
    }

    /// Bytes lost since the file was opened.
    #[cfg(test)]
    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_notice_per_episode_and_a_summary() {
        let mut t = DropTracker::default();
        assert_eq!(t.succeeded(), None);
        assert_eq!(
            t.lost(10, "disk full".into()),
            Some(DropNotice::Started {
                error: "disk full".into()
            })
        );
        assert_eq!(t.lost(5, "other".into()), None);
        assert_eq!(
            t.succeeded(),
            Some(DropNotice::Ended {
                bytes: 15,
                error: "disk full".into()
            })
        );
        assert_eq!(t.succeeded(), None);
        assert!(t.lost(1, "again".into()).is_some());
        assert!(matches!(
            t.close(),
            Some(DropNotice::Ended { bytes: 1, .. })
        ));
        assert_eq!(t.total(), 16);
    }
}
