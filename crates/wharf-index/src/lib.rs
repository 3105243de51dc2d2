//! wharf-index
