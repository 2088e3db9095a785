//! Reusable widgets.

pub mod age;
pub mod calendar;
pub mod changes;
pub mod chart;
pub mod deployment_list;
pub mod form_feedback;
pub mod header;
pub mod live;
pub mod loaded;
pub mod query;
pub mod saved_views;
pub mod session;
pub mod timers;
pub mod timestamp;
pub mod zone;
