//! Reusable widgets.

pub mod form_feedback;
pub mod session;
pub mod timestamp;
