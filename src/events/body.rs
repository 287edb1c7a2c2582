//! The response body of a live stream, which runs the stream itself.
//!
//! A stream's work (replay, live batches, access checks, pings) is one
//! future that hands the body its output through [`Out`], a piece at a
//! time; the body polls that future whenever the server asks it for more.
//! There is no task and no channel between them: an idle stream is its
//! future and its connection, and the server's write buffer is the only
//! queue.
//!
//! - The client leaving drops the body, and with it the future: whatever
//!   the stream holds (its slot, its place in the hub) goes at once.
//! - A reader that stops reading stops the server asking, so the future is
//!   not polled: nobody else waits for it, and the live batches it misses
//!   are read from the database when it reads again (its feed reports the
//!   lag). When the server asks again more than `timeout` after the last
//!   piece was handed over, without having drained its buffer in between,
//!   the stream ends there: a reader that far behind resumes from its
//!   cursor instead.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;

/// The most one piece holds. A batch of long comments can weigh megabytes,
/// and the server copies what it writes into the connection's buffer: in
/// pieces, a reader who stops reading holds at most a piece or two there.
/// (SSE is a byte stream: any cut is fine.)
const PIECE: usize = 32 * 1024;

/// The stream's side: hands the body what to send.
pub struct Out {
    slot: Rc<Cell<Option<Bytes>>>,
}

impl Out {
    /// Returns once the body has taken all of `bytes`.
    pub async fn send(&self, mut bytes: Bytes) {
        while bytes.len() > PIECE {
            let piece = bytes.split_to(PIECE);
            self.hand(piece).await;
        }
        self.hand(bytes).await
    }

    /// The body empties the slot before it polls the stream again, so the
    /// slot is empty whenever this runs, and a piece placed on one poll
    /// has been taken by the next: no waker is needed.
    async fn hand(&self, piece: Bytes) {
        let mut piece = Some(piece);
        std::future::poll_fn(|_| match piece.take() {
            Some(piece) => {
                self.slot.set(Some(piece));
                Poll::Pending
            }
            None => Poll::Ready(()),
        })
        .await
    }
}

/// One more on a gauge while this lives: a stream counts itself open
/// however it ends.
pub struct Gauge(&'static str);

impl Gauge {
    pub fn up(name: &'static str) -> Self {
        ::metrics::gauge!(name).increment(1.0);
        Gauge(name)
    }
}

impl Drop for Gauge {
    fn drop(&mut self) {
        ::metrics::gauge!(self.0).decrement(1.0);
    }
}

pin_project_lite::pin_project! {
    /// A live stream's body: `run` (built by [`LiveBody::new`]'s caller
    /// from an [`Out`]) produces what is sent, and the stream ends when it
    /// returns.
    pub struct LiveBody<F> {
        #[pin]
        run: F,
        slot: Rc<Cell<Option<Bytes>>>,
        ran_out: bool,
        timeout: Duration,
        // When the last piece was handed over, until the server next
        // finds nothing waiting (then it is keeping up).
        handed_at: Option<Instant>,
        slow_readers: &'static str,
    }
}

impl<F: Future<Output = ()>> LiveBody<F> {
    /// The body of the stream `stream` makes from its [`Out`]; a reader
    /// that drains nothing for `timeout` is let go, counted by the
    /// `slow_readers` counter.
    pub fn new(timeout: Duration, slow_readers: &'static str, stream: impl FnOnce(Out) -> F) -> Self {
        let slot = Rc::new(Cell::new(None));
        let run = stream(Out { slot: slot.clone() });
        LiveBody { run, slot, ran_out: false, timeout, handed_at: None, slow_readers }
    }
}

impl<F: Future<Output = ()>> MessageBody for LiveBody<F> {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let mut this = self.project();
        if this.handed_at.is_some_and(|at| at.elapsed() > *this.timeout) && !*this.ran_out {
            ::metrics::counter!(*this.slow_readers).increment(1);
            *this.ran_out = true;
            return Poll::Ready(None);
        }
        if !*this.ran_out && this.run.as_mut().poll(cx).is_ready() {
            *this.ran_out = true;
        }
        match this.slot.take() {
            Some(piece) => {
                *this.handed_at = Some(Instant::now());
                Poll::Ready(Some(Ok(piece)))
            }
            None if *this.ran_out => Poll::Ready(None),
            None => {
                *this.handed_at = None;
                Poll::Pending
            }
        }
    }
}
