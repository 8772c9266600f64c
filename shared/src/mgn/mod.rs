//! The MGN adapter: aws-sdk-mgn answers turned into core types (`convert`), MGN's
//! states in the project's words (`vocabulary`), the calls the functions share (`api`), the launcher's calls (`launch`), the planner's waves and applications (`groupings`) and launch configurations
//! (`launch_configuration`).

pub mod api;
pub mod convert;
pub mod groupings;
pub mod launch;
pub mod launch_configuration;
pub mod vocabulary;
