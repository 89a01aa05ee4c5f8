namespace Hybrid.Core

/// (being written)
module Convolution =
    let internal placeholder = ()
