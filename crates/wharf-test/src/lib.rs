//! wharf-test
