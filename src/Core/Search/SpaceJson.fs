namespace Hybrid.Core.Search
