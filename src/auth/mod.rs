//! Who is calling and what they may do: the gate (API switches and signature), the hash itself,
//! and the permission rules.

pub mod gate;
pub mod hash;
pub mod permissions;
