//! The one paging loop under every list sweep of every backend, with a bound on the
//! number of pages, so a service that keeps returning a nextToken cannot loop a function
//! forever. The loop is our own rather than the SDK paginators: some list operations
//! have none, and they stop silently at a repeated nextToken, which would pass a partial
//! list off as the whole one.

use std::future::Future;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::AwsCallError;

/// More pages than this means the service is misbehaving (1,000,000 items at 100 a
/// page).
pub const MAX_PAGES: usize = 10_000;

/// A service's answer lacked a field the core cannot do without: the item cannot be
/// acted on safely, so it is skipped and named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} returned a {shape} without `{field}`")]
pub struct MissingField {
    pub service: &'static str,
    pub shape: &'static str,
    pub field: &'static str,
}

/// Items of a sweep plus those that could not be converted (and were skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep<T> {
    pub items: Vec<T>,
    pub unusable: Vec<MissingField>,
    pub pages: usize,
}

impl<T> Default for Sweep<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            unusable: Vec::new(),
            pages: 0,
        }
    }
}

/// What a sweep that handed its items on saw: how many items it handed on, those that
/// could not be converted (and were skipped), and the pages read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    pub items: usize,
    pub unusable: Vec<MissingField>,
    pub pages: usize,
}

impl Swept {
    /// The sweep of the items the caller kept.
    pub fn into_sweep<T>(self, items: Vec<T>) -> Sweep<T> {
        Sweep {
            items,
            unusable: self.unusable,
            pages: self.pages,
        }
    }

    fn skip(&mut self, missing: MissingField) {
        tracing::warn!(%missing, "skipping an item without an identifier");
        self.unusable.push(missing);
    }
}

/// The answer of a list operation, as far as paging through it goes.
pub trait Page {
    /// The token asking for the next page; none, or empty, on the last page.
    fn next_token(&self) -> Option<&str>;
}

/// The SDK gives each list answer its own `next_token`; the sweep needs one name for it.
macro_rules! page {
    ($($output:ty),+ $(,)?) => {$(
        impl $crate::paging::Page for $output {
            fn next_token(&self) -> Option<&str> {
                <$output>::next_token(self)
            }
        }
    )+};
}
pub(crate) use page;

/// One list operation of one service, as a sweep names it in its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listing {
    pub service: &'static str,
    pub operation: &'static str,
    pub max_pages: usize,
}

impl Listing {
    /// `operation` of `service`, bounded by [`MAX_PAGES`].
    pub const fn of(service: &'static str, operation: &'static str) -> Self {
        Self {
            service,
            operation,
            max_pages: MAX_PAGES,
        }
    }

    fn endless(&self, message: String) -> AwsCallError {
        AwsCallError::unusable_answer(self.service, self.operation, "EndlessPagination", message)
    }
}

/// Pages through one list operation, one call per page, handing every converted item
/// to `keep` as its page arrives: `fetch_page` asks for the page after a token (none for
/// the first), `read_page` converts a page's items. A caller that keeps only what it
/// needs of each item holds one page at a time, not the whole list. Fails after
/// `max_pages` calls that all ended with a nextToken, and on a page handing back the
/// nextToken it was asked with, which would be fetched again forever.
pub async fn sweep_each<Output, Error, Item, Answer>(
    listing: Listing,
    mut fetch_page: impl FnMut(Option<String>) -> Answer,
    mut read_page: impl FnMut(&Output) -> Vec<Result<Item, MissingField>>,
    mut keep: impl FnMut(Item),
) -> Result<Swept, AwsCallError>
where
    Output: Page,
    Answer: Future<Output = Result<Output, SdkError<Error, HttpResponse>>>,
    Error: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut swept = Swept::default();
    let mut token: Option<String> = None;
    loop {
        if swept.pages == listing.max_pages {
            let pages = listing.max_pages;
            return Err(listing.endless(format!("still returning a nextToken after {pages} pages")));
        }
        swept.pages += 1;
        // Boxed: the SDK's request future is deep and large, and inline it would count
        // against every caller's future (rustc's type layout depth limit, stack size).
        let page = Box::pin(fetch_page(token.clone()))
            .await
            .map_err(|error| AwsCallError::from_sdk(listing.service, listing.operation, &error))?;
        let next = page.next_token().filter(|next| !next.is_empty());
        if next.is_some() && next == token.as_deref() {
            let page = swept.pages;
            return Err(listing.endless(format!(
                "page {page} returned the nextToken it was asked with"
            )));
        }
        for item in read_page(&page) {
            match item {
                Ok(item) => {
                    swept.items += 1;
                    keep(item);
                }
                Err(missing) => swept.skip(missing),
            }
        }
        match next {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(swept),
        }
    }
}

/// As [`sweep_each`], keeping every item.
pub async fn sweep<Output, Error, Item, Answer>(
    listing: Listing,
    fetch_page: impl FnMut(Option<String>) -> Answer,
    read_page: impl FnMut(&Output) -> Vec<Result<Item, MissingField>>,
) -> Result<Sweep<Item>, AwsCallError>
where
    Output: Page,
    Answer: Future<Output = Result<Output, SdkError<Error, HttpResponse>>>,
    Error: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut items = Vec::new();
    let swept = sweep_each(listing, fetch_page, read_page, |item| items.push(item)).await?;
    Ok(swept.into_sweep(items))
}

/// Items kept as a listing hands them over, joined at their exact count once it ends.
/// A `Vec` grown one item at a time doubles: at 100,000 source servers it would hold
/// room for 131,072 and, while it grows, the old and the new buffer at once.
#[derive(Debug)]
pub struct Gathered<T> {
    chunks: Vec<Vec<T>>,
    count: usize,
}

impl<T> Default for Gathered<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            count: 0,
        }
    }
}

impl<T> Gathered<T> {
    /// Items per chunk: a page of the largest listings.
    const CHUNK: usize = 1_000;

    pub fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < Self::CHUNK => chunk.push(item),
            _ => {
                let mut chunk = Vec::with_capacity(Self::CHUNK);
                chunk.push(item);
                self.chunks.push(chunk);
            }
        }
        self.count += 1;
    }

    /// Every item in the order pushed, where it was kept.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// How many items were pushed.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every item in the order pushed; each chunk is freed as it is moved, so the
    /// items are held about once.
    pub fn into_vec(self) -> Vec<T> {
        let mut items = Vec::with_capacity(self.count);
        items.extend(self);
        items
    }
}

impl<T> IntoIterator for Gathered<T> {
    type Item = T;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<T>>>;

    /// Every item in the order pushed, each chunk freed once its items are taken.
    fn into_iter(self) -> Self::IntoIter {
        self.chunks.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::Gathered;

    #[test]
    fn gathered_items_come_back_in_order_at_their_exact_count() {
        for count in [0, 1, 999, 1_000, 1_001, 2_500] {
            let mut gathered = Gathered::default();
            (0..count).for_each(|n| gathered.push(n));
            assert_eq!(gathered.len(), count);
            assert!(
                gathered.iter().copied().eq(0..count),
                "{count} items in order"
            );
            let items = gathered.into_vec();
            assert_eq!(items, (0..count).collect::<Vec<_>>());
            assert_eq!(items.capacity(), count, "{count} items");
        }
    }
}
