//! Who is calling and what they may do: the gate (API switches, lockouts and signature), the
//! hash itself, the lockout bookkeeping, and the permission rules.

pub mod gate;
pub mod hash;
pub mod lockout;
pub mod permissions;
