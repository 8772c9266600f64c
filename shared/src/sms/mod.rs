//! The SMS adapter: everything the functions know of AWS Server Migration Service, one
//! file per concern. [`convert`] turns SDK answers into the core's types (the one
//! place they are read), [`api`] holds the calls the functions share (paginated
//! sweeps, GetApp, CreateReplicationJob), [`app_config`] the app launch and
//! replication configurations on the wire both ways, and [`vocabulary`] what SMS's
//! states mean in the project's words (its calls are counted by `crate::calls`).

pub mod api;
pub mod app_config;
pub mod convert;
pub mod vocabulary;
