namespace Hybrid.Core

/// (being written)
module Pointwise =
    let internal placeholder = ()
