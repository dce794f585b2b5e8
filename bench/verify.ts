// Verification section (verification issue): one Verifier (created once, warm caches) on a ~15 KB signed HL7 v3
// prescription and on an openssl-made CMS, beside xml-crypto and pkijs doing the same cryptographic work, and
// every rate as a ratio of openssl's raw RSA-2048 verify rate of this run. Inputs are made here (temp key and
// self-signed nonRepudiation certificate, trusted as the anchor); revocation is off so no CRL is involved.
import { execFileSync } from 'node:child_process';
import { sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import * as pkijs from 'pkijs';
import { SignedXml } from 'xml-crypto';
import { parseCertificate } from '../src/cms/index.js';
import { buildFragmentsToBeHashed, buildSignedInfo } from '../src/prescription/index.js';
import { createVerifier, type Verifier } from '../src/verify/index.js';
import {
  projectRoot,
  rate,
  rateSync,
  selfSignedSigner,
  type Row,
  type SectionInput,
} from './common.js';

const SECTION = 'verification';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const PLACEHOLDER = `<Signature xmlns="${DSIG}"/>`;
const TARGET_SIZE = 15 * 1024;
const VECTOR = join(
  projectRoot,
  '..',
  'shared',
  'vectors',
  'eps',
  'hl7v3',
  'SignatureAlgorithmSha256.UNWRAPPED-derived.xml',
);

const CERT_CONFIG = `[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = 555000000201 Bench Prescriber
O = rxsign bench
[ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, nonRepudiation, digitalSignature
subjectKeyIdentifier = hash
`;

const hl7Now = (): string => new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);

function lineItem(i: number): string {
  return `
        <pertinentInformation2 typeCode="PERT" contextConductionInd="true">
          <seperatableInd value="false"/>
          <pertinentLineItem classCode="SBADM" moodCode="RQO">
            <id root="A54219B8-F741-4C47-B662-E4F8DFA4${String(1000 + i).padStart(4, '0')}"/>
            <code codeSystem="2.16.840.1.113883.2.1.3.2.4.16.9" code="225426007"/>
            <product typeCode="PRD" contextControlCode="OP">
              <manufacturedProduct classCode="MANU">
                <manufacturedRequestedMaterial classCode="MMAT" determinerCode="KIND">
                  <code codeSystem="2.16.840.1.113883.2.1.3.2.4.15" code="${39720311000001100 + i}">
                    <originalText>Bench medicine ${i} 500mg capsules</originalText>
                  </code>
                </manufacturedRequestedMaterial>
              </manufacturedProduct>
            </product>
            <component typeCode="COMP">
              <seperatableInd value="false"/>
              <lineItemQuantity classCode="SPLY" moodCode="RQO">
                <code codeSystem="2.16.840.1.113883.2.1.3.2.4.15" code="3317411000001100" displayName="capsule"/>
                <quantity value="${28 + i}" unit="1"><translation value="${28 + i}" codeSystem="2.16.840.1.113883.2.1.3.2.4.15" code="3317411000001100" displayName="capsule"/></quantity>
              </lineItemQuantity>
            </component>
            <pertinentInformation2 typeCode="PERT" contextConductionInd="true">
              <seperatableInd value="false"/>
              <pertinentDosageInstructions classCode="OBS" moodCode="EVN">
                <code codeSystem="2.16.840.1.113883.2.1.3.2.4.17.30" code="DI"/>
                <value>One to be taken ${(i % 3) + 1} times a day with food</value>
              </pertinentDosageInstructions>
            </pertinentInformation2>
            <pertinentInformation4 typeCode="PERT" contextConductionInd="true">
              <seperatableInd value="false"/>
              <pertinentItemStatus classCode="OBS" moodCode="EVN">
                <code codeSystem="2.16.840.1.113883.2.1.3.2.4.17.30" code="IS"/>
                <value codeSystem="2.16.840.1.113883.2.1.3.2.4.16.23" code="0007"/>
              </pertinentItemStatus>
            </pertinentInformation4>
          </pertinentLineItem>
        </pertinentInformation2>`;
}

/** An unsigned ParentPrescription (urn:hl7-org:v3) with `items` line items and a Signature placeholder. */
function unsignedPrescription(items: number, time: string): string {
  return `<ParentPrescription xmlns="urn:hl7-org:v3" classCode="INFO" moodCode="EVN">
  <id root="B5116EB7-F569-9FCB-361D-127036A97528"/>
  <code codeSystem="2.16.840.1.113883.2.1.3.2.4.15" code="163501000000109"/>
  <effectiveTime value="${time}"/>
  <typeId root="2.16.840.1.113883.2.1.3.2.4.18.7" extension="PORX_MT122003UK32"/>
  <recordTarget typeCode="RCT">
    <Patient classCode="PAT">
      <id root="2.16.840.1.113883.2.1.4.1" extension="9453740578"/>
      <addr use="H"><streetAddressLine>13 BENCH STREET</streetAddressLine><streetAddressLine>LEEDS</streetAddressLine><postalCode>LS1 4HR</postalCode></addr>
      <patientPerson classCode="PSN" determinerCode="INSTANCE">
        <name use="L"><prefix>MRS</prefix><given>ANNA</given><family>BENCHMARK</family></name>
        <administrativeGenderCode code="2"/>
        <birthTime value="19480430"/>
      </patientPerson>
    </Patient>
  </recordTarget>
  <pertinentInformation1 typeCode="PERT" contextConductionInd="true">
    <templateId root="2.16.840.1.113883.2.1.3.2.4.18.2" extension="CSAB_RM-NPfITUK10.pertinentInformation"/>
    <pertinentPrescription classCode="SBADM" moodCode="RQO">
      <id root="7F5E5D0A-26F1-4A53-9E0E-1C3C8D0B6A11"/>
      <id root="2.16.840.1.113883.2.1.3.2.4.18.8" extension="A0548B-A99968-451485"/>
      <code codeSystem="2.16.840.1.113883.2.1.3.2.4.15" code="225426007"/>
      <effectiveTime nullFlavor="NA"/>
      <repeatNumber><low value="1"/><high value="1"/></repeatNumber>
      <author typeCode="AUT" contextControlCode="OP">
        <time value="${time}"/>
        <signatureText>${PLACEHOLDER}</signatureText>
        <AgentPerson classCode="AGNT">
          <id root="1.2.826.0.1285.0.2.0.67" extension="555000000201"/>
          <code codeSystem="1.2.826.0.1285.0.2.1.104" code="R8000"/>
          <telecom use="WP" value="tel:01234567890"/>
          <agentPerson classCode="PSN" determinerCode="INSTANCE">
            <id root="1.2.826.0.1285.0.2.1.54" extension="G6123456"/>
            <name><prefix>DR</prefix><given>BEN</given><family>PRESCRIBER</family></name>
          </agentPerson>
          <representedOrganization classCode="ORG" determinerCode="INSTANCE">
            <id root="1.2.826.0.1285.0.1.10" extension="A83008"/>
            <code codeSystem="2.16.840.1.113883.2.1.3.2.4.17.94" code="999"/>
            <name>BENCH MEDICAL PRACTICE</name>
          </representedOrganization>
        </AgentPerson>
      </author>${Array.from({ length: items }, (_, i) => lineItem(i)).join('')}
    </pertinentPrescription>
  </pertinentInformation1>
</ParentPrescription>
`;
}

interface Material {
  keyPem: string;
  certPem: string;
  certDer: Buffer;
  /** The unsigned prescription (placeholder in signatureText). */
  unsigned: string;
  /** The signed prescription, ~15 KB. */
  signedRx: Buffer;
  /** The unsigned prescription signed by xml-crypto (enveloped, exc-c14n, rsa-sha256, sha256). */
  xmlCryptoDoc: string;
  /** `openssl cms -sign -binary -nodetach` of ~15 KB content, DER. */
  cms: Buffer;
}

function makeMaterial(dir: string): Material {
  const run = (args: string[]): Buffer =>
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const { keyPath, certPath, keyPem, certPem, certDer } = selfSignedSigner(dir, CERT_CONFIG);

  const time = hl7Now();
  const signedWith = (items: number): Buffer => {
    const unsigned = unsignedPrescription(items, time);
    const signedInfo = buildSignedInfo(buildFragmentsToBeHashed(unsigned), 'RS256');
    const value = sign('sha256', signedInfo, keyPem).toString('base64');
    const signature = `<Signature xmlns="${DSIG}">${Buffer.from(signedInfo).toString('utf8')}<SignatureValue>${value}</SignatureValue><KeyInfo><X509Data><X509Certificate>${certDer.toString('base64')}</X509Certificate></X509Data></KeyInfo></Signature>`;
    return Buffer.from(unsigned.replace(PLACEHOLDER, signature), 'utf8');
  };
  let items = 1; // as many line items as bring the signed document nearest 15 KB
  while (signedWith(items + 1).length <= TARGET_SIZE) {
    items++;
  }
  if (signedWith(items + 1).length - TARGET_SIZE < TARGET_SIZE - signedWith(items).length) {
    items++; // the nearer of the two sizes
  }
  const unsigned = unsignedPrescription(items, time);
  const signedRx = signedWith(items);

  const sx = new SignedXml({
    privateKey: keyPem,
    publicCert: certPem,
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  });
  sx.addReference({
    xpath: '/*',
    isEmptyUri: true,
    transforms: [
      'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
      'http://www.w3.org/2001/10/xml-exc-c14n#',
    ],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  sx.computeSignature(unsigned.replace(PLACEHOLDER, ''));
  const xmlCryptoDoc = sx.getSignedXml();

  const contentPath = join(dir, 'content.bin');
  writeFileSync(
    contentPath,
    Buffer.from(
      'A document of modest size for the CMS verification bench.\n'.repeat(
        Math.ceil(TARGET_SIZE / 58),
      ),
    ).subarray(0, TARGET_SIZE),
  );
  const cms = run([
    'cms',
    '-sign',
    '-binary',
    '-nodetach',
    '-outform',
    'DER',
    '-md',
    'sha256',
    '-signer',
    certPath,
    '-inkey',
    keyPath,
    '-in',
    contentPath,
  ]);
  return { keyPem, certPem, certDer, unsigned, signedRx, xmlCryptoDoc, cms };
}

async function verifierRate(
  verify: () => Promise<{ indication: string }>,
  ms: number,
  what: string,
): Promise<number> {
  const first = await verify();
  if (first.indication !== 'TOTAL_PASSED') {
    throw new Error(`bench: ${what} did not verify (${JSON.stringify(first)})`);
  }
  await rate(verify, Math.min(300, ms)); // warm-up
  return rate(async () => {
    const r = await verify();
    if (r.indication !== 'TOTAL_PASSED') {
      throw new Error(`bench: ${what} stopped verifying`);
    }
  }, ms);
}

function xmlCryptoRate(doc: string, certPem: string, ms: number): number {
  const once = (): boolean => {
    const parsed = new DOMParser().parseFromString(doc, 'text/xml');
    const sigNode = parsed.getElementsByTagNameNS(DSIG, 'Signature').item(0);
    if (sigNode === null) {
      throw new Error('bench: xml-crypto signature not found');
    }
    const sx = new SignedXml({ publicCert: certPem, getCertFromKeyInfo: () => null });
    sx.loadSignature(sigNode as unknown as Parameters<SignedXml['loadSignature']>[0]);
    return sx.checkSignature(doc);
  };
  if (!once()) {
    throw new Error('bench: xml-crypto did not verify its own signature');
  }
  rateSync(() => void once(), Math.min(300, ms)); // warm-up
  return rateSync(() => {
    if (!once()) {
      throw new Error('bench: xml-crypto stopped verifying');
    }
  }, ms);
}

async function pkijsRate(cms: Buffer, ms: number): Promise<number> {
  const engine = new pkijs.CryptoEngine({
    name: 'node',
    crypto: globalThis.crypto as unknown as pkijs.CryptoEngineParameters['crypto'],
  });
  const bytes = new Uint8Array(cms).buffer; // a copy in its own ArrayBuffer
  const once = async (): Promise<boolean> => {
    const info = pkijs.ContentInfo.fromBER(bytes);
    const sd = new pkijs.SignedData({ schema: info.content });
    return sd.verify({ signer: 0, checkChain: false }, engine);
  };
  if (!(await once())) {
    throw new Error('bench: pkijs did not verify the CMS');
  }
  await rate(once, Math.min(300, ms)); // warm-up
  return rate(async () => {
    if (!(await once())) {
      throw new Error('bench: pkijs stopped verifying');
    }
  }, ms);
}

/** The EPS test vector with its own signer as the anchor (informative; skipped when the optional EPS vectors are absent: README "Test vectors"). */
async function vectorRow(ms: number, opensslVerify: number): Promise<Row> {
  const name = 'HL7 v3 EPS vector (SignatureAlgorithmSha256 derived), own signer as anchor';
  if (!existsSync(VECTOR)) {
    return { section: SECTION, name, perSecond: Number.NaN, extra: 'skipped: vector not present' };
  }
  const bytes = readFileSync(VECTOR);
  const b64 = /<X509Certificate>([^<]+)<\/X509Certificate>/.exec(bytes.toString('utf8'))?.[1];
  if (b64 === undefined) {
    return { section: SECTION, name, perSecond: Number.NaN, extra: 'skipped: no X509Certificate' };
  }
  const verifier = createVerifier({
    anchors: [parseCertificate(Buffer.from(b64.replace(/&#13;|&#x[dD];|\s+/g, ''), 'base64'))],
    revocation: 'off',
    fetchCrl: false,
  });
  const first = await verifier.verifyPrescription(bytes);
  if (first.indication !== 'TOTAL_PASSED') {
    return {
      section: SECTION,
      name,
      perSecond: Number.NaN,
      extra: `skipped: ${first.indication}/${first.subIndication ?? ''}`,
    };
  }
  const r = await verifierRate(() => verifier.verifyPrescription(bytes), ms, 'EPS vector');
  return {
    section: SECTION,
    name: `${name}, ${(bytes.length / 1024).toFixed(1)} KB (${((100 * r) / opensslVerify).toFixed(2)}% of openssl)`,
    perSecond: r,
    baseline: 'openssl verify',
    ratio: r / opensslVerify,
  };
}

/**
 * Rows: HL7 v3 prescriptions/s through one Verifier (target >= 3,000/s) and vs xml-crypto; CMS/s vs pkijs
 * (target >= 10x); each rate as a ratio of `openssl speed rsa2048` verify.
 *
 * @example
 * ```ts
 * extraSections.push({ name: 'verification', run: verifySection });
 * ```
 */
export async function verifySection(input: SectionInput): Promise<Row[]> {
  const { ms, opensslVerify } = input;
  const dir = mkdtempSync(join(tmpdir(), 'rxsign-bench-verify-'));
  try {
    const m = makeMaterial(dir);
    const anchor = parseCertificate(m.certDer);
    const verifier: Verifier = createVerifier({
      anchors: [anchor],
      revocation: 'off',
      fetchCrl: false,
    });

    const rx = await verifierRate(
      () => verifier.verifyPrescription(m.signedRx),
      ms,
      'signed prescription',
    );
    const xc = xmlCryptoRate(m.xmlCryptoDoc, m.certPem, ms);
    const cms = await verifierRate(() => verifier.verifyCms(m.cms), ms, 'CMS');
    const pk = await pkijsRate(m.cms, ms);
    const vector = await vectorRow(ms, opensslVerify);

    const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
    // The ratios are far below 0.01 (printed as 0.00x), so the name carries them as a percentage too.
    const pct = (r: number): string => `${((100 * r) / opensslVerify).toFixed(2)}% of openssl`;
    const vsOssl = (r: number) => ({ baseline: 'openssl verify', ratio: r / opensslVerify });
    return [
      {
        section: SECTION,
        name: `HL7 v3 prescription verify (Verifier, ${kb(m.signedRx.length)}, RS256), 1 core`,
        perSecond: rx,
        target: '>= 3000/s',
        pass: rx >= 3000,
      },
      {
        section: SECTION,
        name: `xml-crypto checkSignature (${kb(Buffer.byteLength(m.xmlCryptoDoc))}, exc-c14n rsa-sha256)`,
        perSecond: xc,
      },
      {
        section: SECTION,
        name: 'HL7 v3 prescription verify vs xml-crypto',
        perSecond: rx,
        baseline: 'xml-crypto',
        ratio: rx / xc,
      },
      {
        section: SECTION,
        name: `CMS verify (Verifier, attached, ${kb(m.cms.length)})`,
        perSecond: cms,
        baseline: 'pkijs',
        ratio: cms / pk,
        target: '>= 10x pkijs',
        pass: cms / pk >= 10,
      },
      {
        section: SECTION,
        name: 'pkijs SignedData.verify (same CMS, checkChain false)',
        perSecond: pk,
      },
      {
        section: SECTION,
        name: 'openssl speed rsa2048 verify (this run)',
        perSecond: opensslVerify,
      },
      {
        section: SECTION,
        name: `HL7 v3 prescription verify / openssl (${pct(rx)})`,
        perSecond: rx,
        ...vsOssl(rx),
      },
      { section: SECTION, name: `xml-crypto / openssl (${pct(xc)})`, perSecond: xc, ...vsOssl(xc) },
      {
        section: SECTION,
        name: `CMS verify / openssl (${pct(cms)})`,
        perSecond: cms,
        ...vsOssl(cms),
      },
      { section: SECTION, name: `pkijs / openssl (${pct(pk)})`, perSecond: pk, ...vsOssl(pk) },
      vector,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
