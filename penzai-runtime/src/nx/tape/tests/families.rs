//! Property tests: every op family against finite differences, over random shapes and
//! axis orders.
