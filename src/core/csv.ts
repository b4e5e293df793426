/**
 * CSV as RFC 4180 has it, for exports and imports: fields separated by
 * commas, a field with a comma, a quote or a line break wrapped in double
 * quotes with its quotes doubled. Pure, so that the server (exports) and the
 * CLI (imports) share it.
 */

/** One field, quoted only when it needs to be. Complexity: O(length). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * True when `text` holds whole records: its quotes are balanced, so a line
 * break in it ends a record rather than sitting inside a quoted field. A
 * reader that gets lines joins the next one while this is false.
 */
export function csvRecordComplete(text: string): boolean {
  let quotes = 0;
  for (let at = text.indexOf('"'); at !== -1; at = text.indexOf('"', at + 1)) quotes++;
  return quotes % 2 === 0;
}

/**
 * The fields of one record (without its line break). Returns null when a
 * quoted field is not closed, or when a closing quote is followed by
 * anything but a comma. Complexity: O(length).
 */
export function parseCsvRecord(record: string): string[] | null {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (record[at] === '"') {
      let value = '';
      let from = at + 1;
      for (;;) {
        const quote = record.indexOf('"', from);
        if (quote === -1) return null;
        value += record.slice(from, quote);
        if (record[quote + 1] === '"') {
          value += '"';
          from = quote + 2;
          continue;
        }
        at = quote + 1;
        break;
      }
      fields.push(value);
      if (at === record.length) return fields;
      if (record[at] !== ',') return null;
      at += 1;
    } else {
      const comma = record.indexOf(',', at);
      if (comma === -1) {
        fields.push(record.slice(at));
        return fields;
      }
      fields.push(record.slice(at, comma));
      at = comma + 1;
    }
  }
}
