/**
 * A small reader for the flat XML documents streaming servers answer with (Icecast's admin
 * `listclients` and `stats`, Shoutcast DNAS's `viewxml`): elements, attributes and text, with the
 * five predefined entities and numeric character references. No DTDs, namespaces or processing
 * beyond skipping them; CDATA sections are read as text.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (its text nodes joined), entities decoded. */
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes `&amp;`, `&#65;`, `&#x41;`...; an unknown entity is kept as written. */
export function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body.startsWith('#x')) return safeCodePoint(Number.parseInt(body.slice(2), 16)) ?? whole;
    if (body.startsWith('#')) return safeCodePoint(Number.parseInt(body.slice(1), 10)) ?? whole;
    return ENTITIES[body] ?? whole;
  });
}

function safeCodePoint(n: number): string | undefined {
  return Number.isInteger(n) && n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}

const ATTRIBUTE = /([^\s=/>]+)\s*=\s*("([^"]*)"|'([^']*)')/g;

/** Parses a document; `{ ok: false }` when its tags do not nest. */
export function parseXml(text: string): { ok: true; root: XmlElement } | { ok: false; reason: string } {
  const top: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: XmlElement[] = [top];
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const current = stack[stack.length - 1] as XmlElement;
    if (lt === -1) {
      current.text += decodeXmlText(text.slice(i));
      break;
    }
    if (lt > i) current.text += decodeXmlText(text.slice(i, lt));
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      i = end === -1 ? text.length : end + 3;
    } else if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      current.text += text.slice(lt + 9, end === -1 ? text.length : end);
      i = end === -1 ? text.length : end + 3;
    } else if (text.startsWith('<?', lt) || text.startsWith('<!', lt)) {
      const end = text.indexOf('>', lt);
      i = end === -1 ? text.length : end + 1;
    } else {
      const end = text.indexOf('>', lt);
      if (end === -1) return { ok: false, reason: 'unterminated tag' };
      const tag = text.slice(lt + 1, end);
      i = end + 1;
      if (tag.startsWith('/')) {
        const name = tag.slice(1).trim();
        if (current.name !== name) return { ok: false, reason: `</${name}> closes <${current.name}>` };
        stack.pop();
        continue;
      }
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const name = body.match(/^[^\s/>]+/)?.[0];
      if (!name) return { ok: false, reason: 'a tag without a name' };
      const element: XmlElement = { name, attributes: {}, children: [], text: '' };
      for (const m of body.slice(name.length).matchAll(ATTRIBUTE)) {
        element.attributes[m[1] as string] = decodeXmlText(m[3] ?? m[4] ?? '');
      }
      current.children.push(element);
      if (!selfClosing) stack.push(element);
    }
  }
  if (stack.length !== 1) return { ok: false, reason: `<${stack[stack.length - 1]?.name}> is not closed` };
  const root = top.children[0];
  return root ? { ok: true, root } : { ok: false, reason: 'no root element' };
}

/** The direct children named `name` (case-sensitive). */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

/** The trimmed text of the first direct child named `name`, or `undefined`. */
export function childText(element: XmlElement, name: string): string | undefined {
  const child = element.children.find((c) => c.name === name);
  return child === undefined ? undefined : child.text.trim();
}
