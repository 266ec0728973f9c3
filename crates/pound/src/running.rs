//! The running configuration as a snapshot that can be replaced while requests are in
//! flight.
//!
//! Every connection takes the listener of the snapshot in force when it is accepted and
//! keeps it to its end; the control socket, the `Metrics` backend, the prober and the
//! session sweeper load the snapshot in force each time they act. Replacing it (a reload,
//! backends found by DNS) is one atomic store: no request waits for it, and none sees half
//! of one configuration and half of the next. What must outlive a snapshot (a backend's
//! health, pool and counters, session tables) is held by identity and taken over by the
//! next one (`state::Carry`).

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::state::{Listener, State};

pub struct Running {
    current: ArcSwap<State>,
}

impl Running {
    pub fn new(state: State) -> Running {
        Running {
            current: ArcSwap::from_pointee(state),
        }
    }

    /// The snapshot in force.
    pub fn load(&self) -> Arc<State> {
        self.current.load_full()
    }

    /// Listener `index` of the snapshot in force, for a connection just accepted on its
    /// socket.
    pub fn listener(&self, index: usize) -> Option<Arc<Listener>> {
        self.current.load().listeners.get(index).cloned()
    }

    /// Puts `next` in force and returns the snapshot it replaces; work in progress goes on
    /// with the snapshot it started with.
    pub fn replace(&self, next: State) -> Arc<State> {
        self.current.swap(Arc::new(next))
    }
}
