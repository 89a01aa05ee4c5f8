module Hybrid.Cli.Program

[<EntryPoint>]
let main argv =
    match argv |> List.ofArray with
    | [] | [ "demo" ] -> Demo.run 200 0.1
    | "demo" :: steps :: _ -> Demo.run (int steps) 0.1
    | cmd :: _ ->
        eprintfn "hybrid: unknown command '%s' (expected: demo)" cmd
        2
