import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { DOMParser } from '@xmldom/xmldom';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { describe, expect, test } from 'vitest';

import { exclusiveC14n } from '../../src/prescription/c14n.js';
import { parseXml } from '../../src/prescription/xml.js';
import { EPS_VECTORS, HAVE_VECTORS, SKIP_REASON, vector } from './vectors.js';

const c14n = (xml: string): string => exclusiveC14n(parseXml(xml).root);

/** xmldom + xml-crypto: an independent parser and canonicaliser, as the cross-check. */
const xmldom = (xml: string): Document =>
  new DOMParser().parseFromString(xml, 'application/xml') as unknown as Document;
const xmlCrypto = (element: Element): string =>
  new ExclusiveCanonicalization().process(element, { inclusiveNamespacesPrefixList: [] });
const xmlCryptoOf = (xml: string): string => {
  const root = xmldom(xml).documentElement;
  if (root === null) {
    throw new Error('no root');
  }
  return xmlCrypto(root);
};

const XMLLINT = ['/usr/bin/xmllint', '/usr/local/bin/xmllint'].find((p) => existsSync(p));
/** `xmllint --exc-c14n` keeps comments, so they are removed from its input first (we are "without comments"). */
const xmllint = (xml: string): string =>
  execFileSync(XMLLINT ?? 'xmllint', ['--nonet', '--exc-c14n', '-'], {
    input: xml.replace(/<!--[\s\S]*?-->/g, ''),
    maxBuffer: 64 * 1024 * 1024,
  }).toString('utf8');

/** Small documents that exercise one rule each (Exc-C14N §3, Canonical XML §2.3). */
const CASES: Record<string, [input: string, expected: string]> = {
  'empty element is written as a start-end pair': ['<a/>', '<a></a>'],
  'XML declaration and outer whitespace are not part of the element': [
    '<?xml version="1.0"?>\n<a> x </a>\n',
    '<a> x </a>',
  ],
  'default namespace written once on the apex, not repeated': [
    '<a xmlns="urn:x"><b><c/></b></a>',
    '<a xmlns="urn:x"><b><c></c></b></a>',
  ],
  'xmlns="" written only to undo a rendered default': [
    '<a xmlns="urn:x"><b xmlns=""><c xmlns=""/></b></a>',
    '<a xmlns="urn:x"><b xmlns=""><c></c></b></a>',
  ],
  'xmlns="" on the apex is not written': ['<a xmlns=""/>', '<a></a>'],
  'unused prefix declarations vanish (EPS §1.3, DSS-846 xmlns:hl7)': [
    '<id xmlns="urn:hl7-org:v3" xmlns:hl7="urn:hl7-org:v3" root="1"/>',
    '<id xmlns="urn:hl7-org:v3" root="1"></id>',
  ],
  'a prefix is declared where it is visibly utilized, not where it was declared': [
    '<r xmlns:p="urn:p" xmlns:q="urn:q"><x><p:y q:z="1"/></x><p:w/></r>',
    '<r><x><p:y xmlns:p="urn:p" xmlns:q="urn:q" q:z="1"></p:y></x><p:w xmlns:p="urn:p"></p:w></r>',
  ],
  'a prefix rendered by an output ancestor is not repeated, a rebinding is': [
    '<p:a xmlns:p="urn:1"><p:b><p:c xmlns:p="urn:2"/></p:b></p:a>',
    '<p:a xmlns:p="urn:1"><p:b><p:c xmlns:p="urn:2"></p:c></p:b></p:a>',
  ],
  'namespace declarations sorted by prefix, default first': [
    '<z:e xmlns="urn:d" xmlns:z="urn:z" xmlns:a="urn:a" a:x="1"><f/></z:e>',
    '<z:e xmlns:a="urn:a" xmlns:z="urn:z" a:x="1"><f xmlns="urn:d"></f></z:e>',
  ],
  'attributes sorted by namespace URI (none first), then local name — not by prefix': [
    '<e xmlns:b="urn:a" xmlns:a="urn:b" a:x="3" b:y="2" z="1" c="0"/>',
    '<e xmlns:a="urn:b" xmlns:b="urn:a" c="0" z="1" b:y="2" a:x="3"></e>',
  ],
  'xml: attributes keep their prefix and never declare it': [
    '<e xml:lang="en"/>',
    '<e xml:lang="en"></e>',
  ],
  'text escaping: & < > and CR; quotes untouched': [
    '<e>a &amp; b &lt; c &gt; d "q" \'s\' &#13;&#9;</e>',
    '<e>a &amp; b &lt; c &gt; d "q" \'s\' &#xD;\t</e>',
  ],
  'attribute escaping: & < " TAB LF CR; > untouched': [
    '<e a="&amp;&lt;&gt;&quot;&#9;&#10;&#13;\'"/>',
    '<e a="&amp;&lt;>&quot;&#x9;&#xA;&#xD;\'"></e>',
  ],
  'literal newlines in attributes are normalised by the parser to spaces': [
    '<e a="x\ny"/>',
    '<e a="x y"></e>',
  ],
  'CDATA becomes escaped text': ['<e><![CDATA[<b>&]]></e>', '<e>&lt;b&gt;&amp;</e>'],
  'comments are dropped (without comments)': ['<e><!-- c -->x<!---->y</e>', '<e>xy</e>'],
  'character references and non-ASCII are written as UTF-8 characters': [
    '<e a="&#xE9;">&#x1F600;é</e>',
    '<e a="é">😀é</e>',
  ],
};

describe('Exc-C14N 1.0 (http://www.w3.org/2001/10/xml-exc-c14n#) rules', () => {
  test.each(Object.entries(CASES))('%s', (_name, [input, expected]) => {
    expect(c14n(input)).toBe(expected);
  });

  test('canonicalising a subtree leaves out the ancestors and their unused declarations', () => {
    const doc = parseXml(
      '<r xmlns="urn:r" xmlns:p="urn:p" xmlns:u="urn:u"><p:s a="1"><t/></p:s></r>',
    );
    const s = doc.elements.find((e) => e.namespace === 'urn:p' && e.localName === 's');
    if (s === undefined) {
      throw new Error('missing');
    }
    expect(exclusiveC14n(s)).toBe('<p:s xmlns:p="urn:p" a="1"><t xmlns="urn:r"></t></p:s>');
  });

  test.each(Object.entries(CASES))(
    'agrees with xml-crypto ExclusiveCanonicalization: %s',
    (_name, [input]) => {
      expect(c14n(input)).toBe(xmlCryptoOf(input));
    },
  );

  test.skipIf(XMLLINT === undefined)(
    `agrees with libxml2 xmllint --exc-c14n ${XMLLINT === undefined ? '(skipped: xmllint not installed)' : ''}`,
    () => {
      for (const [input] of Object.values(CASES)) {
        expect(c14n(input)).toBe(xmllint(input));
      }
    },
  );
});

const vectorFiles = (): string[] => {
  if (!HAVE_VECTORS) {
    return [];
  }
  const hl7 = readdirSync(join(EPS_VECTORS, 'hl7v3')).map((f) => join('hl7v3', f));
  const prepare = readdirSync(join(EPS_VECTORS, 'prepare'))
    .map((c) => join('prepare', c, '1-Convert-Response-Send-200_OK.xml'))
    .filter((f) => existsSync(join(EPS_VECTORS, f)));
  const fragments = [join('fragments', 'PrepareIntermediate-Hl7V3SignatureFragments.xml')];
  return [...hl7, ...prepare, ...fragments].filter((f) => f.endsWith('.xml')).sort();
};

describe.skipIf(!HAVE_VECTORS)(
  `Exc-C14N cross-check on real EPS documents ${HAVE_VECTORS ? '' : SKIP_REASON}`,
  () => {
    test.each(vectorFiles())(
      '%s: every element subtree agrees with xmldom + xml-crypto',
      (file) => {
        const ours = parseXml(vector(file)).elements;
        const theirs = xmldom(vector(file).toString('utf8')).getElementsByTagName('*');
        expect(ours.length).toBeGreaterThan(10);
        expect(ours.length).toBe(theirs.length);
        ours.forEach((element, i) => {
          const other = theirs.item(i);
          expect(other?.localName).toBe(element.localName);
          expect(exclusiveC14n(element)).toBe(other === null ? '' : xmlCrypto(other));
        });
      },
    );

    test.skipIf(XMLLINT === undefined)(
      `whole documents agree with xmllint --exc-c14n ${XMLLINT === undefined ? '(skipped: xmllint not installed)' : ''}`,
      () => {
        for (const file of vectorFiles()) {
          const xml = vector(file).toString('utf8');
          expect(c14n(xml), file).toBe(xmllint(xml));
        }
      },
    );
  },
);
