//! Telling people what hookrelay did on its own. [`email`] sends notices (a webhook was
//! disabled) through the operator's SMTP relay; with none configured, nothing is sent.
//! [`owners`] is the task that sends them as the attempt recorder disables webhooks.

pub mod email;
pub mod owners;
