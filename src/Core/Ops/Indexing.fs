namespace Hybrid.Core

/// (being written)
module Indexing =
    let internal placeholder = ()
