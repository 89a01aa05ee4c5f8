namespace Hybrid.Core
module Core = let version = "0.1.0"
