namespace Hybrid.Core

/// (being written)
module Softmax =
    let internal placeholder = ()
