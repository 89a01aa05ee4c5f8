namespace Hybrid.Core

/// (being written)
module Linalg =
    let internal placeholder = ()
