//! What is open at once, counted by scope (the server, a ledger, a
//! connection), so that a limit refuses the one call too many with
//! RESOURCE_EXHAUSTED instead of slowing every other caller.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ledger_core::LedgerId;

/// Where a limit applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The whole server.
    Server,
    /// One hosted ledger.
    Ledger(LedgerId),
    /// One client connection, by its peer address.
    Connection(SocketAddr),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Server => f.write_str("this server"),
            Scope::Ledger(id) => write!(f, "ledger {id}"),
            Scope::Connection(_) => f.write_str("this connection"),
        }
    }
}

/// Counts of one kind of thing (auditors' calls, feeds) open per scope.
#[derive(Debug, Default)]
pub struct Seats {
    taken: Mutex<HashMap<Scope, usize>>,
}

/// One thing counted in every scope it was taken in; dropping it frees them.
#[derive(Debug)]
pub struct Seat {
    seats: Arc<Seats>,
    scopes: Vec<Scope>,
}

impl Seats {
    /// A new, empty count.
    pub fn new() -> Arc<Seats> {
        Arc::new(Seats::default())
    }

    /// Takes a seat in every scope of `wanted` (scope, limit), or none of
    /// them: the error is the first scope that is full.
    pub fn take(self: &Arc<Self>, wanted: &[(Scope, usize)]) -> Result<Seat, (Scope, usize)> {
        let mut taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&(scope, limit)) = wanted
            .iter()
            .find(|(scope, limit)| taken.get(scope).copied().unwrap_or(0) >= *limit)
        {
            return Err((scope, limit));
        }
        for (scope, _) in wanted {
            *taken.entry(*scope).or_default() += 1;
        }
        Ok(Seat {
            seats: self.clone(),
            scopes: wanted.iter().map(|(s, _)| *s).collect(),
        })
    }

    /// How many are open in `scope`.
    pub fn count(&self, scope: Scope) -> usize {
        let taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        taken.get(&scope).copied().unwrap_or(0)
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut taken = self.seats.taken.lock().unwrap_or_else(|p| p.into_inner());
        for scope in &self.scopes {
            if let Some(n) = taken.get_mut(scope) {
                *n -= 1;
                if *n == 0 {
                    taken.remove(scope);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scope_refuses_and_takes_nothing_elsewhere() {
        let seats = Seats::new();
        let ledger = Scope::Ledger(LedgerId::default());
        let want = [(Scope::Server, 3), (ledger, 2)];
        let a = seats.take(&want).unwrap();
        let _b = seats.take(&want).unwrap();
        assert_eq!(seats.take(&want).unwrap_err(), (ledger, 2));
        // The refusal took no server seat.
        assert_eq!(seats.count(Scope::Server), 2);
        drop(a);
        assert_eq!(seats.count(ledger), 1);
        assert!(seats.take(&want).is_ok());
    }
}
