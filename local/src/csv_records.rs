//! CSV as a spreadsheet writes it, for every reader in the crate (the plan sheet, the
//! MGN stand-in's inventory import): RFC 4180 records, a byte order mark left to the
//! caller.

/// CSV records (RFC 4180: quoted fields may hold commas, newlines and `""`); the
/// first is the header, row 1.
pub fn records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let (mut fields, mut field) = (Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut fields));
            }
            (false, '\r') => {}
            (_, c) => field.push(c),
        }
    }
    if quoted {
        let row = records.len() + 1;
        return Err(format!("row {row}: a quoted field is never closed"));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push(fields);
    }
    Ok(records)
}
