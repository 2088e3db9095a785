//! Reusable widgets.

pub mod form_feedback;
pub mod timestamp;
