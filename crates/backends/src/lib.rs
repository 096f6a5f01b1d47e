//! The conformance suites of the ports (`tests/`): one set of assertions
//! per port, run on its production adapter and on its embedded one, so
//! `adpulse up` answers every call as production does. The ports
//! themselves are traits in `adpulse_domain::ports`; the adapters
//! implement them in their own crates, and the composition root
//! (`services/adpulse`) chooses between them.
