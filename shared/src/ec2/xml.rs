//! Reading EC2's XML answers with the SDK's streaming reader: the items of a top-level
//! set (with the page's `nextToken`), an element's text, and an error answer's code.

use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder};

/// An element's text.
pub(super) fn text(field: &mut ScopedDecoder<'_, '_>) -> Result<String, String> {
    try_data(field)
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| e.to_string())
}

/// The text of `parent`'s child element named `child`, if it has one.
pub(super) fn child_text(
    parent: &mut ScopedDecoder<'_, '_>,
    child: &str,
) -> Result<Option<String>, String> {
    let mut found = None;
    while let Some(mut field) = parent.next_tag() {
        if field.start_el().matches(child) {
            found = Some(text(&mut field)?);
        }
    }
    Ok(found)
}

/// The text of each child of a list (EC2 names list members `item`, or as the model's
/// member says, as `groupId`).
pub(super) fn texts(list: &mut ScopedDecoder<'_, '_>) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    while let Some(mut member) = list.next_tag() {
        found.push(text(&mut member)?);
    }
    Ok(found)
}

/// Each `item` of the answer's top-level `set`, read by `read`, and the page's
/// `nextToken`.
pub(super) fn items<T>(
    xml: &str,
    set: &str,
    mut read: impl FnMut(&mut ScopedDecoder<'_, '_>) -> Result<T, String>,
) -> Result<(Vec<T>, Option<String>), String> {
    let mut document = Document::new(xml);
    let mut root = document.root_element().map_err(|e| e.to_string())?;
    let (mut found, mut next) = (Vec::new(), None);
    while let Some(mut element) = root.next_tag() {
        if element.start_el().matches("nextToken") {
            next = Some(text(&mut element)?).filter(|token| !token.is_empty());
            continue;
        }
        if !element.start_el().matches(set) {
            continue;
        }
        while let Some(mut item) = element.next_tag() {
            if item.start_el().matches("item") {
                found.push(read(&mut item)?);
            }
        }
    }
    Ok((found, next))
}

/// EC2's error answer: `<Response><Errors><Error><Code>…<Message>…`.
pub(super) fn parse_error(xml: &str) -> Option<(String, String)> {
    let mut document = Document::new(xml);
    let mut root = document.root_element().ok()?;
    while let Some(mut errors) = root.next_tag() {
        if !errors.start_el().matches("Errors") {
            continue;
        }
        // The first error is the one EC2 answers with.
        if let Some(mut error) = errors.next_tag() {
            let (mut code, mut message) = (None, String::new());
            while let Some(mut field) = error.next_tag() {
                let name = field.start_el().local().to_owned();
                let text = try_data(&mut field).ok()?.into_owned();
                match name.as_str() {
                    "Code" => code = Some(text),
                    "Message" => message = text,
                    _ => {}
                }
            }
            return code.map(|code| (code, message));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_gives_its_code_and_message() {
        let xml = r#"<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1' does not exist</Message></Error></Errors><RequestID>r</RequestID></Response>"#;
        assert_eq!(
            parse_error(xml),
            Some((
                "InvalidInstanceID.NotFound".into(),
                "The instance ID 'i-1' does not exist".into()
            ))
        );
        assert_eq!(parse_error("<Response/>"), None);
    }

    #[test]
    fn a_sets_items_and_the_next_token_are_read() {
        let xml = "<R><requestId>r</requestId><set><item><id>a</id></item><item><id>b</id></item></set><nextToken>t2</nextToken></R>";
        let (ids, next) = items(xml, "set", |item| child_text(item, "id")).unwrap();
        assert_eq!(ids, [Some("a".to_owned()), Some("b".to_owned())]);
        assert_eq!(next.as_deref(), Some("t2"));
        let (none, last) = items("<R><set/><nextToken/></R>", "set", |_| Ok(())).unwrap();
        assert!(none.is_empty() && last.is_none());
        assert!(items("<R", "set", |_| Ok(())).is_err());
    }
}
