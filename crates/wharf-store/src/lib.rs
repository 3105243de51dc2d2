//! wharf-store
