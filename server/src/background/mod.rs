//! What a server does besides answering requests: sending queued webhook notifications, passing
//! on changes other instances announce, and keeping the live feeds they reach browsers by.

pub(crate) mod change_listener;
pub(crate) mod checkpoint_builder;
pub(crate) mod drift_watcher;
pub(crate) mod freeze_announcer;
pub(crate) mod live_feeds;
pub(crate) mod notifier;
