namespace Hybrid.Core

/// (being written)
module Loss =
    let internal placeholder = ()
