/**
 * CSV as RFC 4180 has it, for exports and imports: fields separated by
 * commas, a field with a comma, a quote or a line break wrapped in double
 * quotes with its quotes doubled. Pure, so that the server (exports) and the
 * CLI (imports) share it.
 */

const QUOTE = 0x22;
const COMMA = 0x2c;

/** One field, quoted only when it needs to be. Complexity: O(length). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Whether a quoted field is still open at the end of `line`, given whether
 * one was open at its start: a reader that gets lines joins the next one
 * to the record while it is. A quote opens a field only at the field's
 * start (elsewhere in an unquoted field it is text, as parseCsvRecord reads
 * it). Complexity: O(length).
 */
export function quoteOpenAfter(line: string, open: boolean): boolean {
  let fieldStart = !open;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (open) {
      if (c !== QUOTE) continue;
      if (line.charCodeAt(i + 1) === QUOTE) i++;
      else open = false;
      fieldStart = false;
    } else if (c === QUOTE && fieldStart) {
      open = true;
    } else {
      fieldStart = c === COMMA;
    }
  }
  return open;
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
