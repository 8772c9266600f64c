//! The MGN adapter: aws-sdk-mgn answers turned into core types (`convert`), MGN's
//! states in the project's words (`vocabulary`), the calls the functions share (`api`),
//! the launcher's calls (`launch`), the planner's waves and applications (`groupings`)
//! and launch and replication configurations (`configurations`), and inventory imports
//! (`imports`).

pub mod api;
pub mod configurations;
pub mod convert;
pub mod groupings;
pub mod imports;
pub mod launch;
pub mod vocabulary;
