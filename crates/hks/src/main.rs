//! The `hks` command.

use clap::Parser;

/// HKS: scheduled jobs on Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "hks", version)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
