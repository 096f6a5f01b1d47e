//! (being written)

use crate::Lite;

impl Lite {}
