//! A small SMTP receiver on 127.0.0.1, for the tests of email alerts: it
//! speaks enough of RFC 5321 (`EHLO`/`HELO`, `MAIL`, `RCPT`, `DATA`,
//! `RSET`, `NOOP`, `QUIT`) for an SMTP client to hand it messages, and
//! records every message it took, envelope and data as sent. A script says
//! how it answers each message: it takes it, refuses it with a reply code,
//! or takes it and drops the connection before answering (the uncertain
//! send, where the client cannot know the message arrived).
//!
//! It is a real server on a real socket, not a stand-in for HKS's code: the
//! client under test is lettre, over TCP, as with any SMTP server.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the receiver answers the end of a message's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `250`: taken (and recorded).
    Take,
    /// This reply code (`451` transient, `550` permanent): not taken, not recorded.
    Refuse(u16),
    /// Recorded as taken, then the connection is closed without an answer.
    TakeAndHangUp,
}

/// A message the receiver took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `MAIL FROM`'s address.
    pub from: String,
    /// Each `RCPT TO`'s address.
    pub to: Vec<String>,
    /// The data, dot-unstuffed, lines ending in CRLF.
    pub data: String,
}

impl Message {
    /// A header's value, unfolded (the first of that name, case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                found = Some(v.trim().to_owned());
            }
        }
        found
    }

    /// The body: everything after the headers.
    pub fn body(&self) -> &str {
        self.data
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body)
    }
}

#[derive(Debug, Default)]
struct State {
    script: VecDeque<Answer>,
    messages: Vec<Message>,
    connections: usize,
}

/// The receiver; it stops listening when dropped.
#[derive(Debug)]
pub struct Receiver {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Listens on a free port of 127.0.0.1. `script`: how to answer the
    /// messages, in order; [`Answer::Take`] once it runs out.
    pub async fn start(script: &[Answer]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let address = listener.local_addr().expect("a bound listener's address");
        let state = Arc::new(Mutex::new(State {
            script: script.iter().copied().collect(),
            ..State::default()
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                shared.lock().unwrap().connections += 1;
                tokio::spawn(session(stream, shared.clone()));
            }
        });
        Self {
            address,
            state,
            task,
        }
    }

    /// `smtp://127.0.0.1:<port>`, for `hks serve --smtp-url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    /// The messages taken so far, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }
}

/// One client's conversation, until it quits or hangs up.
async fn session(stream: TcpStream, state: Arc<Mutex<State>>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut from = String::new();
    let mut to = Vec::new();
    if write
        .write_all(b"220 127.0.0.1 ESMTP test receiver\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        match read.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = String::from_utf8_lossy(&line).trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-127.0.0.1\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n",
            "HELO" => b"250 127.0.0.1\r\n",
            "MAIL" => {
                from = address(&command);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address(&command));
                b"250 OK\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                let _ = write.write_all(b"221 Bye\r\n").await;
                return;
            }
            "DATA" => {
                if write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let Some(data) = data(&mut read).await else {
                    return;
                };
                let message = Message {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                };
                let answer = {
                    let mut state = state.lock().unwrap();
                    let answer = state.script.pop_front().unwrap_or(Answer::Take);
                    // A refused message is not recorded.
                    if matches!(answer, Answer::Take | Answer::TakeAndHangUp) {
                        state.messages.push(message);
                    }
                    answer
                };
                match answer {
                    Answer::Take => b"250 OK: queued\r\n",
                    Answer::TakeAndHangUp => return,
                    Answer::Refuse(code) => {
                        let text = format!("{code} Not now\r\n");
                        if write.write_all(text.as_bytes()).await.is_err() {
                            return;
                        }
                        continue;
                    }
                }
            }
            _ => b"502 Command not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// The address in `MAIL FROM:<a>` or `RCPT TO:<a>`.
fn address(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}

/// A message's data up to the line holding only `.`, dot-unstuffed.
async fn data(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut data = String::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await.ok()? == 0 {
            return None;
        }
        let text = String::from_utf8_lossy(&line);
        if text == ".\r\n" || text == ".\n" {
            return Some(data);
        }
        data.push_str(text.strip_prefix('.').unwrap_or(&text));
    }
}
