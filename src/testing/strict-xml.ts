/** An element of a parsed XML document: entity references in attributes and text are decoded. */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: XmlElement[];
  /** The element's own character data (CDATA included), concatenated. */
  readonly text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_.:]*/;
// XML 1.0 §2.2 Char: what a document may contain at all.
const ILLEGAL_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * A strict XML 1.0 well-formedness check, for tests of what we write (JUnit XML): one root element, matching
 * tags, quoted and unique attributes, no raw `<` or stray `&`, only the five predefined entities and
 * character references to legal characters, no illegal characters. Throws with the offset on the first
 * problem; returns the element tree otherwise. No DTDs, namespaces are plain names.
 *
 * @example
 * const root = parseStrictXml(await readFile('reports/junit.xml', 'utf8'));
 * root.children.filter((c) => c.name === 'testsuite');
 */
export function parseStrictXml(xml: string): XmlElement {
  const bad = ILLEGAL_CHAR.exec(xml);
  if (bad) fail(`illegal character U+${bad[0].codePointAt(0)!.toString(16).padStart(4, '0')}`, bad.index);
  let at = 0;
  const fail_ = (why: string): never => fail(why, at);
  const skipMisc = () => {
    for (;;) {
      at += /^\s*/.exec(xml.slice(at))![0].length;
      if (xml.startsWith('<!--', at)) {
        const end = xml.indexOf('-->', at + 4);
        if (end < 0 || xml.slice(at + 4, end).includes('--')) fail_('bad comment');
        at = end + 3;
      } else if (xml.startsWith('<?', at) && !xml.startsWith('<?xml', at)) {
        const end = xml.indexOf('?>', at);
        if (end < 0) fail_('unterminated processing instruction');
        at = end + 2;
      } else return;
    }
  };
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (
      end < 0 ||
      !/^<\?xml version="1\.[0-9]"( encoding="[A-Za-z][A-Za-z0-9._-]*")?( standalone="(yes|no)")?\s*\?>$/.test(
        xml.slice(0, end + 2),
      )
    ) {
      fail_('bad XML declaration');
    }
    at = end + 2;
  }
  skipMisc();
  const decode = (raw: string, where: number): string => {
    if (raw.includes('<')) fail('raw < in character data or attribute value', where);
    return raw.replace(/&([^;]*);?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) fail('& not starting an entity reference', where);
      if (ref in ENTITIES) return ENTITIES[ref]!;
      const code = /^#x([0-9a-fA-F]+)$/.exec(ref)?.[1] ?? /^#([0-9]+)$/.exec(ref)?.[1];
      if (code === undefined) fail(`unknown entity &${ref};`, where);
      const char = String.fromCodePoint(parseInt(code, ref.startsWith('#x') ? 16 : 10));
      if (ILLEGAL_CHAR.test(char)) fail(`character reference &${ref}; to an illegal character`, where);
      return char;
    });
  };

  const element = (): XmlElement => {
    if (xml[at] !== '<') fail_('expected an element');
    at += 1;
    const name = NAME.exec(xml.slice(at))?.[0] ?? fail_('bad element name');
    at += name.length;
    const attributes: Record<string, string> = {};
    for (;;) {
      const space = /^\s*/.exec(xml.slice(at))![0].length;
      at += space;
      if (xml.startsWith('/>', at) || xml[at] === '>') break;
      if (space === 0) fail_('attributes must be separated by white space');
      const attr = NAME.exec(xml.slice(at))?.[0] ?? fail_('bad attribute name');
      at += attr.length;
      const eq = /^\s*=\s*/.exec(xml.slice(at))?.[0] ?? fail_(`attribute ${attr} has no =`);
      at += eq.length;
      const quote = xml[at];
      if (quote !== '"' && quote !== "'") fail_(`attribute ${attr} is not quoted`);
      const end = xml.indexOf(quote!, at + 1);
      if (end < 0) fail_(`attribute ${attr} is not closed`);
      if (attr in attributes) fail_(`duplicate attribute ${attr}`);
      attributes[attr] = decode(xml.slice(at + 1, end), at);
      at = end + 1;
    }
    if (xml.startsWith('/>', at)) {
      at += 2;
      return { name, attributes, children: [], text: '' };
    }
    at += 1;
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      const next = xml.indexOf('<', at);
      if (next < 0) fail_(`<${name}> is not closed`);
      const raw = xml.slice(at, next);
      if (raw.includes(']]>')) fail_(']]> in character data');
      text += decode(raw, at);
      at = next;
      if (xml.startsWith('</', at)) {
        const close = new RegExp(`^</${name.replace(/[.]/g, '\\.')}\\s*>`).exec(xml.slice(at));
        if (!close) fail_(`</${name}> expected`);
        at += close![0].length;
        return { name, attributes, children, text };
      }
      if (xml.startsWith('<![CDATA[', at)) {
        const end = xml.indexOf(']]>', at);
        if (end < 0) fail_('unterminated CDATA section');
        text += xml.slice(at + 9, end);
        at = end + 3;
      } else if (xml.startsWith('<!--', at) || xml.startsWith('<?', at)) {
        skipMisc();
      } else {
        children.push(element());
      }
    }
  };

  const root = element();
  skipMisc();
  if (at !== xml.length) fail_('content after the root element');
  return root;
}

function fail(why: string, at: number): never {
  throw new Error(`not well-formed XML at offset ${at}: ${why}`);
}
