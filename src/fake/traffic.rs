//! Counts of the fake's connections and requests, for tests that check a client's bounds.

/// What the fake has seen of its connections and requests, for tests that check a client's
/// bounds ("never more than N connections").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Connections accepted since start (or the last reset).
    pub connections_opened: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// The most open at once.
    pub peak_open_connections: u64,
    /// Requests received and not yet answered.
    pub in_flight: u64,
    /// The most in flight at once.
    pub peak_in_flight: u64,
}

impl Traffic {
    /// The counts a reset starts from: what is open stays open.
    pub(super) fn since_now(self) -> Traffic {
        Traffic {
            open_connections: self.open_connections,
            peak_open_connections: self.open_connections,
            in_flight: self.in_flight,
            peak_in_flight: self.in_flight,
            connections_opened: 0,
        }
    }

    pub(crate) fn connection_opened(&mut self) {
        self.connections_opened += 1;
        self.open_connections += 1;
        self.peak_open_connections = self.peak_open_connections.max(self.open_connections);
    }

    pub(crate) fn connection_closed(&mut self) {
        self.open_connections = self.open_connections.saturating_sub(1);
    }

    pub(crate) fn request_started(&mut self) {
        self.in_flight += 1;
        self.peak_in_flight = self.peak_in_flight.max(self.in_flight);
    }

    pub(crate) fn request_ended(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}
