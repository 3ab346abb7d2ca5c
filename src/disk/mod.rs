//! The disk: the only file writer (atomic), the pause gate and the sync root's lock, and the
//! tree walker.

pub mod atomic;
pub mod gate;
pub mod walk;
