/**
 * FHIR R4 prescription-order Bundle → the parts of the HL7 v3 ParentPrescription that EPS signs
 * (docs/protocol/eps-signing.md §1.2), built directly as xml-tree elements in urn:hl7-org:v3: no HL7 document,
 * no DOM. The rules are those of EPS's open-source FHIR → HL7 v3 translation (NHSDigital
 * electronic-prescription-service-api, coordinator `translation/request`), restricted to what is hashed:
 * - prescription id: the first MedicationRequest's groupIdentifier extension Extension-DM-PrescriptionId,
 *   upper-cased when it holds a UUID;
 * - author AgentPerson: from the first MedicationRequest's requester (PractitionerRole), its Practitioner,
 *   Organization (or HealthcareService and its Location) and the organisation's parent (partOf);
 * - recordTarget: the one Patient;
 * - one pertinentLineItem per MedicationRequest, in Bundle order, without item status and with
 *   `repeatNumber` reduced to `<high>` (Spine edits the rest after signing);
 * - child order is EPS's (xml-js writes properties in the order EPS assigns them); attributes are sorted
 *   by C14N, so their order here does not matter;
 * - anything EPS would read differently from us is refused with an error naming the FHIR element: an
 *   unknown MedicationRequest extension, several values where EPS takes one, an unknown code.
 */
import { HL7_NAMESPACE } from '../fragments.js';
import {
  TEXT,
  XmlAttribute,
  XmlText,
  buildElement,
  type XmlElement,
  type XmlNode,
} from '../xml-tree.js';
import {
  arrayAt,
  checkedString,
  extensionsOf,
  identifierValue,
  identifierValueOrNone,
  isObject,
  numberTextAt,
  objectAt,
  objectsAt,
  only,
  onlyOrNone,
  requireObject,
  requireString,
  resolve,
  resourcesOf,
  stringAt,
  type At,
  type FhirBundle,
} from './bundle.js';
import { fhirError } from './errors.js';
import type { JsonObject, JsonValue } from './json.js';

/** The signed parts of the ParentPrescription (each an element in urn:hl7-org:v3, not yet a fragment root). */
export interface SignedParts {
  /** `pertinentPrescription/id[0]`. */
  readonly id: XmlElement;
  readonly agentPerson: XmlElement;
  readonly recordTarget: XmlElement;
  /** As hashed: no pertinentInformation4, repeatNumber with `high` only. */
  readonly lineItems: readonly XmlElement[];
}

const SNOMED = '2.16.840.1.113883.2.1.3.2.4.15';
const ANNOTATION = '2.16.840.1.113883.2.1.3.2.4.17.30';
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const SDS_ROLE_PROFILE = 'https://fhir.nhs.uk/Id/sds-role-profile-id';
const JOB_ROLE_SYSTEMS = [
  'https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode',
  'https://fhir.hl7.org.uk/CodeSystem/UKCore-SDSJobRoleName',
];
const EXT = {
  prescriptionId: 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionId',
  prescriptionType: 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionType',
  endorsement: 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionEndorsement',
  controlledDrug: 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-ControlledDrug',
  responsible: 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-ResponsiblePractitioner',
  repeatInformation:
    'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationRepeatInformation',
  epsRepeatInformation: 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-RepeatInformation',
  performerSiteType: 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PerformerSiteType',
};
/** MedicationRequest extensions EPS reads (or ignores) whose effect on the signed parts is known. */
const KNOWN_MEDICATION_REQUEST_EXTENSIONS = new Set([
  EXT.prescriptionType,
  EXT.endorsement,
  EXT.controlledDrug,
  EXT.responsible,
  EXT.repeatInformation,
]);

// ---------------------------------------------------------------------------------------------- XML helpers

type Attrs = Readonly<Record<string, string | undefined>>;

function el(name: string, attrs: Attrs, children: readonly XmlNode[] = []): XmlElement {
  const attributes: XmlAttribute[] = [];
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined) {
      attributes.push(new XmlAttribute(key, '', key, '', value));
    }
  }
  return buildElement(name, HL7_NAMESPACE, attributes, children);
}

/** An element holding text; whitespace is kept as EPS keeps it (xml-js writes it, xmldom reads it). */
function textEl(name: string, value: string, attrs: Attrs = {}): XmlElement {
  return el(name, attrs, value === '' ? [] : [new XmlText(TEXT, value, false)]);
}

const snomed = (name: string, code: string, displayName?: string): XmlElement =>
  el(name, { code, codeSystem: SNOMED, displayName });
const annotationCode = (code: string): XmlElement => el('code', { code, codeSystem: ANNOTATION });
const sdsOrganisationId = (extension: string): XmlElement =>
  el('id', { root: '1.2.826.0.1285.0.1.10', extension });
const separatable = (value: boolean): XmlElement =>
  el('seperatableInd', { value: value ? 'true' : 'false' });

const UUID = /[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}/i;
/** EPS GlobalIdentifier: upper-cased when the value holds a UUID. */
const globalId = (root: string): XmlElement =>
  el('id', { root: UUID.test(root) ? root.toUpperCase() : root });

// ---------------------------------------------------------------------------------------------- entry point

/**
 * Builds the signed parts of the HL7 v3 ParentPrescription from a prescription-order Bundle.
 *
 * @example
 * ```ts
 * const parts = translateBundle(readBundle(json));
 * parts.lineItems.length; // one per MedicationRequest
 * ```
 */
export function translateBundle(bundle: FhirBundle): SignedParts {
  const requests = resourcesOf(bundle, 'MedicationRequest');
  const first = requests[0];
  if (first === undefined) {
    throw fhirError('ERR_FHIR_ELEMENT_MISSING', {
      element: 'Bundle.entry',
      reason: 'expected at least one MedicationRequest',
    });
  }
  refuseModifierExtensions(bundle.root);
  const patient = only(resourcesOf(bundle, 'Patient'), 'Patient', 'exactly one Patient');
  for (const mr of requests) {
    // What the HL7 v3 translation does not carry must not change what is dispensed: a request not to perform,
    // two medications at once, or a subject other than the one Patient would all be signed as if absent.
    if (mr.value.doNotPerform === true) {
      throw fhirError('ERR_FHIR_ELEMENT_UNSUPPORTED', {
        element: `${mr.path}.doNotPerform`,
        reason: 'a request not to dispense is not a prescription to sign',
      });
    }
    if (
      mr.value.medicationCodeableConcept !== undefined &&
      mr.value.medicationReference !== undefined
    ) {
      throw fhirError('ERR_FHIR_ELEMENT_UNSUPPORTED', {
        element: `${mr.path}.medicationReference`,
        reason:
          'both medicationCodeableConcept and medicationReference: which is dispensed is unclear',
      });
    }
    const subject = objectAt(mr, 'subject');
    if (subject !== undefined && resolve(bundle, subject).value !== patient.value) {
      throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
        element: `${subject.path}.reference`,
        reason: 'the subject is not the Bundle’s Patient',
      });
    }
    for (const ext of objectsAt(mr, 'extension')) {
      const url = ext.value.url;
      if (typeof url !== 'string' || !KNOWN_MEDICATION_REQUEST_EXTENSIONS.has(url)) {
        throw fhirError('ERR_FHIR_ELEMENT_UNSUPPORTED', {
          element: `${ext.path}.url`,
          reason: 'an extension whose effect on the signed prescription is unknown',
        });
      }
    }
  }
  const repeatHigh = repeatNumberHigh(requests);
  const communication = resourcesOf(bundle, 'CommunicationRequest');
  const lineItems = requests.map((mr, i) =>
    lineItem(
      bundle,
      mr,
      repeatHigh,
      i === 0 ? medicationListText(bundle, communication) : [],
      i === 0 ? patientInfoText(communication) : [],
    ),
  );
  return {
    id: globalId(prescriptionId(first)),
    agentPerson: agentPerson(bundle, resolve(bundle, requireObject(first, 'requester'))),
    recordTarget: el('recordTarget', { typeCode: 'RCT' }, [patientElement(patient)]),
    lineItems,
  };
}

/** The prescription's UUID: groupIdentifier.extension(Extension-DM-PrescriptionId).valueIdentifier.value. */
export function prescriptionId(first: At<JsonObject>): string {
  const group = requireObject(first, 'groupIdentifier');
  const ext = only(
    extensionsOf(group, EXT.prescriptionId),
    `${group.path}.extension`,
    `one extension ${EXT.prescriptionId}`,
  );
  return requireString(requireObject(ext, 'valueIdentifier'), 'value');
}

// ---------------------------------------------------------------------------------------------- author

function agentPerson(bundle: FhirBundle, role: At<JsonObject>): XmlElement {
  if (role.value.resourceType !== 'PractitionerRole') {
    throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
      element: 'MedicationRequest[0].requester.reference',
      reason: 'expected a reference to a PractitionerRole',
    });
  }
  const practitionerRef = objectAt(role, 'practitioner');
  const practitioner =
    practitionerRef === undefined ? undefined : resolvePractitioner(bundle, practitionerRef);
  const organization = resolveOrganization(bundle, role);
  const children: XmlElement[] = [];
  if (role.value.identifier !== undefined) {
    children.push(
      el('id', {
        root: '1.2.826.0.1285.0.2.0.67',
        extension: identifierValue(
          objectsAt(role, 'identifier'),
          SDS_ROLE_PROFILE,
          `${role.path}.identifier`,
        ),
      }),
    );
  }
  if (role.value.code !== undefined) {
    children.push(el('code', { code: jobRoleCode(role), codeSystem: '1.2.826.0.1285.0.2.1.104' }));
  }
  children.push(...agentTelecom(role, practitionerRef, practitioner, organization));
  if (practitioner !== undefined) {
    const person: XmlElement[] = [
      el('id', { root: '1.2.826.0.1285.0.2.1.54', extension: professionalCode(practitioner) }),
    ];
    if (practitioner.resource.value.name !== undefined) {
      const name = only(
        objectsAt(practitioner.resource, 'name'),
        `${practitioner.resource.path}.name`,
      );
      person.push(humanName(name));
    }
    children.push(el('agentPerson', { classCode: 'PSN', determinerCode: 'INSTANCE' }, person));
  }
  const serviceRefs = objectsAt(role, 'healthcareService');
  const service =
    serviceRefs.length === 0
      ? undefined
      : resolveHealthcareService(bundle, role, serviceRefs[0] as At<JsonObject>);
  children.push(representedOrganization(bundle, organization, service));
  return el('AgentPerson', { classCode: 'AGNT' }, children);
}

/** The role's job role code (EPS `getJobRoleCodeOrName`). */
export function jobRoleCode(role: At<JsonObject>): string {
  const codings = objectsAt(role, 'code').flatMap((c) => objectsAt(c, 'coding'));
  for (const system of JOB_ROLE_SYSTEMS) {
    const coding = onlyOrNone(
      codings.filter((c) => c.value.system === system),
      `${role.path}.code.coding`,
    );
    if (coding !== undefined) {
      return requireString(coding, 'code');
    }
  }
  throw fhirError('ERR_FHIR_ELEMENT_MISSING', {
    element: `${role.path}.code`,
    reason: 'expected a coding from the SDS job role code system',
  });
}

interface Practitioner {
  /** The Practitioner resource, or one made from an identifier reference (EPS `resolvePractitioner`). */
  readonly resource: At<JsonObject>;
}

function resolvePractitioner(bundle: FhirBundle, ref: At<JsonObject>): Practitioner {
  if (typeof ref.value.reference === 'string') {
    return { resource: resolve(bundle, ref, 'Practitioner') };
  }
  const identifier = requireObject(ref, 'identifier');
  const display = stringAt(ref, 'display');
  return {
    resource: {
      path: ref.path,
      value: {
        resourceType: 'Practitioner',
        identifier: [identifier.value],
        name: [display === undefined ? {} : { text: display }],
      } as JsonObject,
    },
  };
}

function resolveOrganization(bundle: FhirBundle, role: At<JsonObject>): At<JsonObject> {
  const ref = requireObject(role, 'organization');
  if (typeof ref.value.reference === 'string') {
    return resolve(bundle, ref, 'Organization');
  }
  const locations = objectsAt(role, 'location').map((l) => {
    const location = resolve(bundle, l, 'Location');
    return location.value.address ?? null;
  });
  return {
    path: ref.path,
    value: {
      resourceType: 'Organization',
      identifier: [requireObject(ref, 'identifier').value],
      name: ref.value.display ?? null,
      telecom: role.value.telecom ?? null,
      address: locations,
    } as JsonObject,
  };
}

function resolveHealthcareService(
  bundle: FhirBundle,
  role: At<JsonObject>,
  ref: At<JsonObject>,
): At<JsonObject> {
  if (typeof ref.value.reference === 'string') {
    return resolve(bundle, ref, 'HealthcareService');
  }
  return {
    path: ref.path,
    value: {
      resourceType: 'HealthcareService',
      identifier: [requireObject(ref, 'identifier').value],
      name: ref.value.display ?? null,
      telecom: role.value.telecom ?? null,
      location: role.value.location ?? null,
    } as JsonObject,
  };
}

/** EPS `getAgentPersonTelecom`: the role's telecoms, else the practitioner's (referenced) or the organisation's. */
function agentTelecom(
  role: At<JsonObject>,
  practitionerRef: At<JsonObject> | undefined,
  practitioner: Practitioner | undefined,
  organization: At<JsonObject>,
): XmlElement[] {
  if (role.value.telecom !== undefined && role.value.telecom !== null) {
    return objectsAt(role, 'telecom').map((t) => telecom(t));
  }
  const secondary =
    practitionerRef !== undefined && typeof practitionerRef.value.reference === 'string'
      ? practitioner?.resource
      : organization;
  if (
    secondary !== undefined &&
    secondary.value.telecom !== undefined &&
    secondary.value.telecom !== null
  ) {
    return objectsAt(secondary, 'telecom').map((t) => telecom(t));
  }
  throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: `${role.path}.telecom` });
}

/** EPS `getAgentPersonPersonIdForAuthor`: exactly one professional code. */
function professionalCode(practitioner: Practitioner): string {
  const ids = objectsAt(practitioner.resource, 'identifier');
  const path = `${practitioner.resource.path}.identifier`;
  const codes: string[] = [];
  const gmc = identifierValueOrNone(ids, 'https://fhir.hl7.org.uk/Id/gmc-number', path);
  if (gmc !== undefined) {
    codes.push(gmc.toUpperCase().startsWith('C') ? gmc.substring(1) : gmc);
  }
  for (const system of [
    'gmp-number',
    'nmc-number',
    'gphc-number',
    'hcpc-number',
    'professional-code',
  ]) {
    const value = identifierValueOrNone(ids, `https://fhir.hl7.org.uk/Id/${system}`, path);
    if (value !== undefined) {
      codes.push(value);
    }
  }
  return only(
    codes,
    path,
    'exactly one professional code (GMC, GMP, NMC, GPhC, HCPC or professional-code)',
  );
}

function representedOrganization(
  bundle: FhirBundle,
  organization: At<JsonObject>,
  service: At<JsonObject> | undefined,
): XmlElement {
  const costCentre = service ?? organization;
  const children = commonOrganisation(costCentre);
  const telecoms = objectsAt(costCentre, 'telecom');
  children.push(telecom(only(telecoms, `${costCentre.path}.telecom`)));
  let address: At<JsonObject>;
  if (service === undefined) {
    address = only(objectsAt(organization, 'address'), `${organization.path}.address`);
  } else {
    const location = resolve(
      bundle,
      only(objectsAt(service, 'location'), `${service.path}.location`),
      'Location',
    );
    const addr = objectAt(location, 'address');
    if (addr === undefined) {
      throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: `${location.path}.address` });
    }
    address = addr;
  }
  children.push(addressElement(address));
  children.push(
    el('healthCareProviderLicense', { classCode: 'PROV' }, [
      parentOrganisation(bundle, organization),
    ]),
  );
  return el('representedOrganization', { classCode: 'ORG', determinerCode: 'INSTANCE' }, children);
}

function parentOrganisation(bundle: FhirBundle, organization: At<JsonObject>): XmlElement {
  const partOf = objectAt(organization, 'partOf');
  let parent = organization;
  if (partOf !== undefined) {
    parent =
      typeof partOf.value.reference === 'string'
        ? resolve(bundle, partOf, 'Organization')
        : {
            path: partOf.path,
            value: {
              resourceType: 'Organization',
              identifier: [requireObject(partOf, 'identifier').value],
              name: partOf.value.display ?? null,
            } as JsonObject,
          };
  }
  return el(
    'Organization',
    { classCode: 'ORG', determinerCode: 'INSTANCE' },
    commonOrganisation(parent),
  );
}

function commonOrganisation(o: At<JsonObject>): XmlElement[] {
  const ods = identifierValue(objectsAt(o, 'identifier'), ODS, `${o.path}.identifier`);
  const name = stringAt(o, 'name');
  if (name === undefined || name === '') {
    throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: `${o.path}.name` });
  }
  return [
    sdsOrganisationId(ods),
    el('code', { code: '999', codeSystem: '2.16.840.1.113883.2.1.3.2.4.17.94' }),
    textEl('name', name),
  ];
}

// ---------------------------------------------------------------------------------------------- demographics

const NAME_USE: Readonly<Record<string, string>> = {
  usual: 'L',
  official: 'L',
  temp: 'A',
  anonymous: 'A',
  nickname: 'PREFERRED',
  old: 'PREVIOUS',
  maiden: 'PREVIOUS-MAIDEN',
};
const TELECOM_USE: Readonly<Record<string, string>> = {
  home: 'HP',
  work: 'WP',
  temp: 'HV',
  mobile: 'MC',
};
const ADDRESS_USE: Readonly<Record<string, string>> = {
  home: 'H',
  work: 'WP',
  temp: 'TMP',
  billing: 'PST',
};
const GENDER: Readonly<Record<string, string>> = {
  male: '1',
  female: '2',
  other: '9',
  unknown: '0',
};

function coded(
  table: Readonly<Record<string, string>>,
  o: At<JsonObject>,
  key: string,
): string | undefined {
  const value = stringAt(o, key);
  if (value === undefined || value === '') {
    return undefined;
  }
  const code = Object.hasOwn(table, value) ? table[value] : undefined;
  if (code === undefined) {
    throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
      element: `${o.path}.${key}`,
      reason: `expected one of ${Object.keys(table).join(', ')}`,
    });
  }
  return code;
}

const strings = (o: At<JsonObject>, key: string): string[] =>
  arrayAt(o, key).map((item) => {
    if (typeof item.value !== 'string') {
      throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
        element: item.path,
        reason: 'expected a string',
      });
    }
    return checkedString(item.value, item.path);
  });

/** EPS `convertName`. */
function humanName(name: At<JsonObject>): XmlElement {
  const use = coded(NAME_USE, name, 'use');
  const prefix = strings(name, 'prefix');
  const given = strings(name, 'given');
  const family = stringAt(name, 'family');
  const suffix = strings(name, 'suffix');
  const structured =
    (name.value.prefix ?? null) !== null ||
    (name.value.given ?? null) !== null ||
    (family !== undefined && family !== '') ||
    (name.value.suffix ?? null) !== null;
  const text = stringAt(name, 'text');
  const children: XmlElement[] = [
    ...prefix.map((p) => textEl('prefix', p)),
    ...given.map((g) => textEl('given', g)),
    ...(family === undefined || family === '' ? [] : [textEl('family', family)]),
    ...suffix.map((s) => textEl('suffix', s)),
  ];
  if (text !== undefined && text !== '' && !structured) {
    return el('name', { use }, [new XmlText(TEXT, text, false)]);
  }
  return el('name', { use }, children);
}

/** EPS `convertTelecom`. */
function telecom(t: At<JsonObject>): XmlElement {
  const use = coded(TELECOM_USE, t, 'use');
  let value = stringAt(t, 'value');
  if (value !== undefined && value !== '') {
    value = value.replace(/\s/g, '');
    if (!value.startsWith('tel:')) {
      value = `tel:${value}`;
    }
  } else {
    value = undefined;
  }
  return el('telecom', { use, value });
}

/** EPS `convertAddress`. */
function addressElement(a: At<JsonObject>): XmlElement {
  const use = coded(ADDRESS_USE, a, 'use');
  const lines = [
    ...strings(a, 'line'),
    stringAt(a, 'city'),
    stringAt(a, 'district'),
    stringAt(a, 'state'),
  ].filter((l): l is string => l !== undefined && l !== '');
  const postalCode = stringAt(a, 'postalCode');
  return el('addr', { use }, [
    ...lines.map((l) => textEl('streetAddressLine', l)),
    ...(postalCode === undefined || postalCode === '' ? [] : [textEl('postalCode', postalCode)]),
  ]);
}

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

function patientElement(patient: At<JsonObject>): XmlElement {
  const nhsNumber = identifierValue(
    objectsAt(patient, 'identifier'),
    'https://fhir.nhs.uk/Id/nhs-number',
    `${patient.path}.identifier`,
  );
  if ((patient.value.address ?? null) === null) {
    throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: `${patient.path}.address` });
  }
  if ((patient.value.name ?? null) === null) {
    throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: `${patient.path}.name` });
  }
  const gender = coded(GENDER, patient, 'gender');
  if (gender === undefined) {
    throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: `${patient.path}.gender` });
  }
  const birthDate = requireString(patient, 'birthDate');
  const m = DATE.exec(birthDate);
  if (m === null || m[2] === undefined || m[3] === undefined) {
    // EPS formats a partial date as the first of the month/year; refuse rather than guess.
    throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
      element: `${patient.path}.birthDate`,
      reason: 'expected a full date YYYY-MM-DD',
    });
  }
  const gps = objectsAt(patient, 'generalPractitioner');
  const gp =
    gps.length === 0
      ? 'V81999' // EPS UNKNOWN_GP_ODS_CODE
      : requireString(
          requireObject(only(gps, `${patient.path}.generalPractitioner`), 'identifier'),
          'value',
        );
  const children: XmlElement[] = [
    el('id', { root: '2.16.840.1.113883.2.1.4.1', extension: nhsNumber }),
    ...objectsAt(patient, 'address').map(addressElement),
    ...objectsAt(patient, 'telecom').map(telecom),
    el('patientPerson', { classCode: 'PSN', determinerCode: 'INSTANCE' }, [
      ...objectsAt(patient, 'name').map(humanName),
      el('administrativeGenderCode', {
        code: gender,
        codeSystem: '2.16.840.1.113883.2.1.3.2.4.16.25',
      }),
      el('birthTime', { value: `${m[1]}${m[2]}${m[3]}` }),
      el('playedProviderPatient', { classCode: 'PAT' }, [
        el('subjectOf', { typeCode: 'SBJ' }, [
          el('patientCareProvision', { classCode: 'PCPR', moodCode: 'EVN' }, [
            el('code', { code: '1', codeSystem: '2.16.840.1.113883.2.1.3.2.4.17.37' }),
            el('responsibleParty', { typeCode: 'RESP' }, [
              el('healthCareProvider', { classCode: 'PROV' }, [sdsOrganisationId(gp)]),
            ]),
          ]),
        ]),
      ]),
    ]),
  ];
  return el('Patient', { classCode: 'PAT' }, children);
}

// ---------------------------------------------------------------------------------------------- line items

/** EPS `getCourseOfTherapyTypeCode`. */
export function courseOfTherapy(requests: readonly At<JsonObject>[]): string {
  const codes = new Set<string>();
  for (const mr of requests) {
    for (const coding of objectsAt(requireObject(mr, 'courseOfTherapyType'), 'coding')) {
      codes.add(requireString(coding, 'code'));
    }
  }
  if (codes.size === 1) {
    return [...codes][0] as string;
  }
  if (codes.size === 2 && codes.has('acute') && codes.has('continuous')) {
    return 'acute';
  }
  throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
    element: 'MedicationRequest.courseOfTherapyType.coding',
    reason: 'expected one course of therapy for all items, or a mix of acute and continuous',
  });
}

/** `repeatNumber/high` of every line item (EPS `convertRepeatNumber`), undefined for acute. */
function repeatNumberHigh(requests: readonly At<JsonObject>[]): string | undefined {
  const course = courseOfTherapy(requests);
  switch (course) {
    case 'acute':
      return undefined;
    case 'continuous':
      return '1';
    case 'continuous-repeat-dispensing': {
      const first = requests[0] as At<JsonObject>;
      const fromDispense = numberTextAt(
        requireObject(first, 'dispenseRequest'),
        'numberOfRepeatsAllowed',
      );
      if (fromDispense === undefined) {
        throw fhirError('ERR_FHIR_ELEMENT_MISSING', {
          element: `${first.path}.dispenseRequest.numberOfRepeatsAllowed`,
        });
      }
      const fromBasedOn = repeatsFromBasedOn(first);
      return incremented(
        fromBasedOn ?? fromDispense,
        `${first.path}.dispenseRequest.numberOfRepeatsAllowed`,
      );
    }
    default:
      throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
        element: 'MedicationRequest.courseOfTherapyType.coding.code',
        reason: 'expected acute, continuous or continuous-repeat-dispensing',
      });
  }
}

function repeatsFromBasedOn(mr: At<JsonObject>): string | undefined {
  const basedOn = objectsAt(mr, 'basedOn');
  if (basedOn.length === 0) {
    return undefined;
  }
  const info = onlyOrNone(
    basedOn.flatMap((b) => extensionsOf(b, EXT.epsRepeatInformation)),
    `${mr.path}.basedOn.extension`,
  );
  if (info === undefined) {
    return undefined;
  }
  const allowed = onlyOrNone(
    extensionsOf(info, 'numberOfRepeatsAllowed'),
    `${info.path}.extension`,
  );
  return allowed === undefined ? undefined : numberTextAt(allowed, 'valueInteger');
}

function incremented(text: string, path: string): string {
  if (!/^\d{1,9}$/.test(text)) {
    throw fhirError('ERR_FHIR_ELEMENT_INVALID', {
      element: path,
      reason: 'expected a whole number',
    });
  }
  return String(Number(text) + 1);
}

function medicationListText(
  bundle: FhirBundle,
  communication: readonly At<JsonObject>[],
): string[] {
  return communication
    .flatMap((c) => objectsAt(c, 'payload'))
    .flatMap((p) => {
      const ref = objectAt(p, 'contentReference');
      if (ref === undefined) {
        return [];
      }
      const list = resolve(bundle, ref);
      return objectsAt(list, 'entry')
        .map((e) => {
          const item = objectAt(e, 'item');
          return item === undefined ? undefined : stringAt(item, 'display');
        })
        .filter((d): d is string => d !== undefined && d !== '');
    });
}

function patientInfoText(communication: readonly At<JsonObject>[]): string[] {
  return communication
    .flatMap((c) => objectsAt(c, 'payload'))
    .map((p) => stringAt(p, 'contentString'))
    .filter((s): s is string => s !== undefined && s !== '');
}

/** xml-js `writeText` (js2xml): `&amp;` is first decoded, then `& < >` are escaped. */
const xmlJsText = (text: string): string =>
  text.replace(/&amp;/g, '&').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** EPS `convertAdditionalInstructions`: the AI value text, or undefined when empty. */
function additionalInstructions(
  mr: At<JsonObject>,
  medicationList: readonly string[],
  patientInfo: readonly string[],
): string | undefined {
  let controlledDrug: string | undefined;
  const cd = onlyOrNone(extensionsOf(mr, EXT.controlledDrug), `${mr.path}.extension`);
  if (cd !== undefined) {
    const words = onlyOrNone(extensionsOf(cd, 'quantityWords'), `${cd.path}.extension`);
    const value = words === undefined ? undefined : stringAt(words, 'valueString');
    controlledDrug = value === undefined || value === '' ? undefined : `CD: ${value}`;
  }
  const note = onlyOrNone(objectsAt(mr, 'note'), `${mr.path}.note`);
  const noteText = note === undefined ? undefined : stringAt(note, 'text');
  const text =
    medicationList.map((m) => `<medication>${xmlJsText(m)}</medication>`).join('') +
    patientInfo.map((p) => `<patientInfo>${xmlJsText(p)}</patientInfo>`).join('') +
    xmlJsText([controlledDrug, noteText].filter((s) => s !== undefined && s !== '').join('\n'));
  return text === '' ? undefined : text;
}

/** EPS `getDosageInstruction`. */
function dosageText(mr: At<JsonObject>): string {
  const dosages = objectsAt(mr, 'dosageInstruction');
  const path = `${mr.path}.dosageInstruction`;
  if (dosages.length === 0) {
    throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: path });
  }
  const textOf = (d: At<JsonObject>): string => {
    const text = stringAt(d, 'text');
    if (text === undefined) {
      throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: `${d.path}.text` });
    }
    return text;
  };
  if (dosages.length === 1) {
    return textOf(dosages[0] as At<JsonObject>);
  }
  const bySequence = new Map<number, string[]>();
  for (const d of dosages) {
    const sequence = numberTextAt(d, 'sequence');
    if (sequence === undefined || !/^[1-9]\d{0,8}$/.test(sequence)) {
      throw fhirError('ERR_FHIR_ELEMENT_MISSING', {
        element: `${d.path}.sequence`,
        reason: 'several dosage instructions need a positive whole sequence number each',
      });
    }
    const n = Number(sequence);
    bySequence.set(n, [...(bySequence.get(n) ?? []), textOf(d)]);
  }
  return [...bySequence.keys()]
    .sort((a, b) => a - b)
    .map((n) => (bySequence.get(n) as string[]).join(', and '))
    .join(', then ');
}

/**
 * Refuses a `modifierExtension` anywhere in the Bundle: by FHIR's rules (R4 §2.4.1.1) a system that does not
 * know one must not process the resource, and it could change the meaning of what is signed.
 */
function refuseModifierExtensions(root: JsonObject): void {
  const stack: { value: JsonValue; path: string }[] = [{ value: root, path: 'Bundle' }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path } = next;
    if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: `${path}[${i}]` }));
    } else if (isObject(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (k === 'modifierExtension') {
          throw fhirError('ERR_FHIR_ELEMENT_UNSUPPORTED', {
            element: `${path}.modifierExtension`,
            reason: 'a modifier extension changes the meaning of what is signed',
          });
        }
        if (v !== undefined) {
          stack.push({ value: v, path: `${path}.${k}` });
        }
      }
    }
  }
}

/** The SNOMED coding of the medication (EPS `getMedicationCoding`). */
export function medicationCoding(bundle: FhirBundle, mr: At<JsonObject>): At<JsonObject> {
  const concept = objectAt(mr, 'medicationCodeableConcept');
  const source =
    concept ??
    requireObject(resolve(bundle, requireObject(mr, 'medicationReference'), 'Medication'), 'code');
  return only(
    objectsAt(source, 'coding').filter((c) => c.value.system === 'http://snomed.info/sct'),
    `${source.path}.coding`,
    'exactly one SNOMED CT coding',
  );
}

function lineItem(
  bundle: FhirBundle,
  mr: At<JsonObject>,
  repeatHigh: string | undefined,
  medicationList: readonly string[],
  patientInfo: readonly string[],
): XmlElement {
  const id = identifierValue(
    objectsAt(mr, 'identifier'),
    'https://fhir.nhs.uk/Id/prescription-order-item-number',
    `${mr.path}.identifier`,
  );
  const medication = medicationCoding(bundle, mr);
  const quantity = requireObject(requireObject(mr, 'dispenseRequest'), 'quantity');
  const value = numberTextAt(quantity, 'value');
  if (value === undefined) {
    throw fhirError('ERR_FHIR_ELEMENT_MISSING', { element: `${quantity.path}.value` });
  }
  const children: XmlElement[] = [
    globalId(id),
    snomed('code', '225426007', 'Administration of therapeutic substance (procedure)'),
    el('effectiveTime', { nullFlavor: 'NA' }),
  ];
  if (repeatHigh !== undefined) {
    // As hashed: EPS rebuilds repeatNumber as { high } (docs/protocol/eps-signing.md §1.2).
    children.push(el('repeatNumber', {}, [el('high', { value: repeatHigh })]));
  }
  children.push(
    el('product', { typeCode: 'PRD', contextControlCode: 'OP' }, [
      el('manufacturedProduct', { classCode: 'MANU' }, [
        el('manufacturedRequestedMaterial', { classCode: 'MMAT', determinerCode: 'KIND' }, [
          snomed('code', requireString(medication, 'code'), stringAt(medication, 'display')),
        ]),
      ]),
    ]),
    el('component', { typeCode: 'COMP' }, [
      separatable(false),
      el('lineItemQuantity', { classCode: 'SPLY', moodCode: 'RQO' }, [
        snomed('code', '373784005', 'Dispensing medication (procedure)'),
        el('quantity', { value, unit: '1' }, [
          el('translation', {
            value,
            codeSystem: SNOMED,
            code: stringAt(quantity, 'code'),
            displayName: stringAt(quantity, 'unit'),
          }),
        ]),
      ]),
    ]),
  );
  const ai = additionalInstructions(mr, medicationList, patientInfo);
  if (ai !== undefined) {
    children.push(
      el('pertinentInformation1', { typeCode: 'PERT', contextConductionInd: 'true' }, [
        separatable(false),
        el('pertinentAdditionalInstructions', { classCode: 'OBS', moodCode: 'EVN' }, [
          annotationCode('AI'),
          textEl('value', ai),
        ]),
      ]),
    );
  }
  for (const ext of extensionsOf(mr, EXT.endorsement)) {
    const concept = requireObject(ext, 'valueCodeableConcept');
    const coding = only(
      objectsAt(concept, 'coding').filter(
        (c) => c.value.system === 'https://fhir.nhs.uk/CodeSystem/medicationrequest-endorsement',
      ),
      `${concept.path}.coding`,
      'one coding from medicationrequest-endorsement',
    );
    children.push(
      el('pertinentInformation3', { typeCode: 'PERT', contextConductionInd: 'true' }, [
        separatable(false),
        el('pertinentPrescriberEndorsement', { classCode: 'OBS', moodCode: 'EVN' }, [
          annotationCode('PE'),
          el('value', {
            code: requireString(coding, 'code'),
            codeSystem: '2.16.840.1.113883.2.1.3.2.4.16.32',
          }),
        ]),
      ]),
    );
  }
  children.push(
    el('pertinentInformation2', { typeCode: 'PERT', contextConductionInd: 'true' }, [
      separatable(false),
      el('pertinentDosageInstructions', { classCode: 'OBS', moodCode: 'EVN' }, [
        annotationCode('DI'),
        textEl('value', dosageText(mr)),
      ]),
    ]),
  );
  return el('pertinentLineItem', { classCode: 'SBADM', moodCode: 'RQO' }, children);
}
