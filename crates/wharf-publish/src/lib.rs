//! wharf-publish
