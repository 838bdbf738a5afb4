//! The `hks` command: one binary for the server and the command line.

mod admin_cmd;
mod alerts_cmd;
mod audit_cmd;
mod client;
mod cronjob_cmd;
mod demo;
mod projectfile_cmd;
mod schedule_cmd;
mod serve;

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
    /// Run the API server.
    Serve(Box<serve::ServeArgs>),
    /// Tenants and tokens (with the admin token).
    Admin {
        #[command(flatten)]
        connection: client::Connection,
        #[command(subcommand)]
        command: admin_cmd::AdminCommand,
    },
    /// Projects of your tenant.
    Project {
        #[command(flatten)]
        connection: client::Connection,
        #[command(subcommand)]
        command: cronjob_cmd::ProjectCommand,
    },
    /// Applications of a project (any type).
    App {
        #[command(flatten)]
        connection: client::Connection,
        /// The project.
        #[arg(long, short, env = "HKS_PROJECT")]
        project: String,
        #[command(subcommand)]
        command: cronjob_cmd::AppCommand,
    },
    /// CronJobs of a project.
    Cronjob {
        #[command(flatten)]
        connection: client::Connection,
        /// The project.
        #[arg(long, short, env = "HKS_PROJECT")]
        project: String,
        #[command(subcommand)]
        command: cronjob_cmd::CronJobCommand,
    },
    /// Alerts of a project (its default) or of one CronJob, delivered by
    /// webhook, to Slack or Teams, or by email.
    Alerts {
        #[command(flatten)]
        connection: client::Connection,
        /// The project.
        #[arg(long, short, env = "HKS_PROJECT")]
        project: String,
        /// A CronJob's own settings, history and destination instead of the project's.
        #[arg(long, short, global = true)]
        cronjob: Option<String>,
        #[command(subcommand)]
        command: alerts_cmd::AlertsCommand,
    },
    /// The audit log: who changed what, when, field by field.
    Audit {
        #[command(flatten)]
        connection: client::Connection,
        #[command(flatten)]
        args: audit_cmd::AuditArgs,
    },
    /// Write a project as a file: its applications and alert settings, in
    /// a stable order (webhook values only as references).
    Export {
        #[command(flatten)]
        connection: client::Connection,
        /// The project.
        #[arg(long, short, env = "HKS_PROJECT")]
        project: String,
        #[command(flatten)]
        args: projectfile_cmd::ExportArgs,
    },
    /// Show what `hks apply` would create, change and delete, field by field.
    Diff {
        #[command(flatten)]
        connection: client::Connection,
        /// The project.
        #[arg(long, short, env = "HKS_PROJECT")]
        project: String,
        #[command(flatten)]
        args: projectfile_cmd::FileArgs,
        /// Exit with status 2 when there is something to change.
        #[arg(long)]
        exit_code: bool,
    },
    /// Make a project match a file, in dependency order; nothing changes
    /// when any part of the file is invalid.
    Apply {
        #[command(flatten)]
        connection: client::Connection,
        /// The project.
        #[arg(long, short, env = "HKS_PROJECT")]
        project: String,
        #[command(flatten)]
        args: projectfile_cmd::FileArgs,
        /// Only check the file and show what would change.
        #[arg(long)]
        dry_run: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        Command::Schedule(cmd) => return schedule_cmd::run(cmd),
        other => other,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Schedule(_) => Ok(()),
            Command::Serve(args) => {
                serve::init_logging(args.log_format);
                serve::run(*args).await
            }
            Command::Admin {
                connection,
                command,
            } => admin_cmd::run(command, &connection).await,
            Command::Project {
                connection,
                command,
            } => cronjob_cmd::project(command, &connection).await,
            Command::App {
                connection,
                project,
                command,
            } => cronjob_cmd::app(command, &project, &connection).await,
            Command::Cronjob {
                connection,
                project,
                command,
            } => cronjob_cmd::run(command, &project, &connection).await,
            Command::Alerts {
                connection,
                project,
                cronjob,
                command,
            } => alerts_cmd::run(command, &project, cronjob.as_deref(), &connection).await,
            Command::Audit { connection, args } => audit_cmd::run(args, &connection).await,
            Command::Export {
                connection,
                project,
                args,
            } => projectfile_cmd::export(args, &project, &connection).await,
            Command::Diff {
                connection,
                project,
                args,
                exit_code,
            } => return projectfile_cmd::diff(args, exit_code, &project, &connection).await,
            Command::Apply {
                connection,
                project,
                args,
                dry_run,
            } => projectfile_cmd::apply(args, dry_run, &project, &connection).await,
        }
        .map(|()| ExitCode::SUCCESS)
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
