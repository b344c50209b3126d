//! The jobs a run is made of. Each records its sub-pipeline in the run and reports through the
//! observer; the order they run in is the runtime's ([`crate::pipeline`]).

pub mod build;
pub mod deploy;
pub mod gate;
pub mod rollback;
