//! The `hks` command: one binary for the server and the command line.

mod schedule_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// HKS: scheduled jobs on Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "hks", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check, describe and preview cron schedules exactly as Kubernetes reads them.
    #[command(subcommand)]
    Schedule(schedule_cmd::ScheduleCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Schedule(cmd) => schedule_cmd::run(cmd),
    }
}
