//! A real SMTP server on 127.0.0.1, small enough to read: it speaks the part of RFC 5321 a
//! client needs to hand over a message (greeting, EHLO/HELO, MAIL FROM, RCPT TO, DATA with its
//! dot-stuffing undone, RSET, NOOP, QUIT) and records each message it accepts. It can also play
//! a relay that is down for now (greets with `421` and hangs up) or one that refuses every
//! recipient (`550`), and counts the connections it gets.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the server answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relay {
    /// Takes every message.
    Accepting,
    /// Greets with `421` (try later) and closes the connection.
    Unavailable,
    /// Refuses every recipient with `550` (for good).
    Refusing,
}

/// One message as it arrived.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA, CRLF line ends, dot-stuffing undone.
    pub data: String,
}

impl Mail {
    /// The first header `name`, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(value) = &mut found {
                match line.strip_prefix([' ', '\t']) {
                    Some(more) => value.push_str(&format!(" {}", more.trim_start())),
                    None => break,
                }
            } else if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                found = Some(v.trim().to_owned());
            }
        }
        found
    }

    /// The body, with `\n` line ends.
    pub fn body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        body.replace("\r\n", "\n")
    }
}

#[derive(Default)]
struct State {
    mails: Mutex<Vec<Mail>>,
    connections: AtomicUsize,
}

/// The server, listening until dropped.
pub struct SmtpServer {
    pub address: std::net::SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    pub async fn spawn(relay: Relay) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("addr");
        let state = Arc::new(State::default());
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(session(stream, relay, shared.clone()));
            }
        });
        SmtpServer {
            address,
            state,
            task,
        }
    }

    /// `smtp://127.0.0.1:<port>`: plain SMTP, as to a relay on the same machine.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    /// The messages accepted so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.state.mails.lock().expect("lock").clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }
}

/// One SMTP session; ends at QUIT, on an unknown state, or when the client goes away.
async fn session(stream: TcpStream, relay: Relay, state: Arc<State>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if relay == Relay::Unavailable {
        let _ = write
            .write_all(b"421 4.3.2 test relay down, try later\r\n")
            .await;
        return;
    }
    if write.write_all(b"220 test.local ESMTP\r\n").await.is_err() {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let Some(line) = read_line(&mut lines).await else {
            return;
        };
        let upper = line.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 test.local\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&line);
            to.clear();
            b"250 2.1.0 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            if relay == Relay::Refusing {
                b"550 5.1.1 no such mailbox\r\n"
            } else {
                to.push(address(&line));
                b"250 2.1.5 ok\r\n"
            }
        } else if upper == "DATA" {
            if write
                .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                .await
                .is_err()
            {
                return;
            }
            let mut data = String::new();
            loop {
                let Some(line) = read_line(&mut lines).await else {
                    return;
                };
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push_str("\r\n");
            }
            let mail = Mail {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            };
            state.mails.lock().expect("lock").push(mail);
            b"250 2.0.0 queued\r\n"
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 2.0.0 ok\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
            return;
        } else {
            b"502 5.5.1 not implemented\r\n"
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}

/// One line without its CRLF; `None` at the end of the stream.
async fn read_line(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut line = String::new();
    match lines.read_line(&mut line).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
    }
}

/// The address in `MAIL FROM:<a@b>` or `RCPT TO:<a@b>`.
fn address(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line[start..].find('>').map_or(line.len(), |i| start + i);
    line[start..end].to_owned()
}
