/// The XSD of the canonical exchange document (SPEC §2.2), the same text as
/// `config/schema/exchange-1.xsd`; a test keeps the two byte-identical. Embedded so that the
/// daemon validates without finding its config directory, and compiled once per process.
public enum ExchangeSchema {
    public static let namespace = "urn:ketenzicht:exchange:1"
    /// The same, for byte comparisons.
    static let staticNamespace: StaticString = "urn:ketenzicht:exchange:1"

    public static let xsd: String = #"""
<?xml version="1.0" encoding="UTF-8"?>
<!--
  Ketenzicht canonical exchange document, version 1 (SPEC 2.2).

  One <exchanges> root in namespace urn:ketenzicht:exchange:1 holding one child element per event.
  Every event element carries id, source and time; data fields are attributes, lists and free
  text are child elements. Rules that XSD 1.0 cannot say (exactly one of case and bsn, the BSN
  elfproef, self-referrals, known ZRM life domains) are checked by the decoder after validation.

  The root <exchanges> has no declared content model on purpose. Each child is still validated
  strictly against its global declaration below; a child that matches none is reported by the
  decoder as an unknown element. Two libxml2 (2.9) behaviours force this: after the first
  unexpected child of an xs:choice it stops validating the remaining siblings, and a content
  model with an unbounded repetition keeps a copy of every child name it has seen, so memory
  grows with the document. An untyped root avoids both, and streaming stays flat in memory.
-->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:k="urn:ketenzicht:exchange:1"
           targetNamespace="urn:ketenzicht:exchange:1"
           elementFormDefault="qualified"
           attributeFormDefault="unqualified">

  <!-- Deliberately untyped (xs:anyType, a lax wildcard): see the note at the top. -->
  <xs:element name="exchanges"/>

  <!-- Simple types -->

  <xs:simpleType name="Identifier">
    <xs:restriction base="xs:string">
      <xs:minLength value="1"/>
      <xs:maxLength value="256"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="Text">
    <xs:restriction base="xs:string">
      <xs:maxLength value="4096"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="Bsn">
    <xs:restriction base="xs:string">
      <xs:pattern value="[0-9]{9}"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="Urgency">
    <xs:restriction base="xs:string">
      <xs:enumeration value="regulier"/>
      <xs:enumeration value="urgent"/>
      <xs:enumeration value="crisis"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="ZrmScore">
    <xs:restriction base="xs:integer">
      <xs:minInclusive value="1"/>
      <xs:maxInclusive value="5"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="Capacity">
    <xs:restriction base="xs:decimal">
      <xs:minInclusive value="0"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="Days">
    <xs:restriction base="xs:decimal">
      <xs:minExclusive value="0"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- Attribute groups -->

  <xs:attributeGroup name="Envelope">
    <xs:attribute name="id" type="k:Identifier" use="required"/>
    <xs:attribute name="source" type="k:Identifier" use="required"/>
    <xs:attribute name="time" type="xs:dateTime" use="required"/>
  </xs:attributeGroup>

  <!-- Exactly one of the two is required; XSD 1.0 cannot express that, the decoder checks it. -->
  <xs:attributeGroup name="CaseOrBsn">
    <xs:attribute name="case" type="k:Identifier"/>
    <xs:attribute name="bsn" type="k:Bsn"/>
  </xs:attributeGroup>

  <xs:complexType name="StatusEvent">
    <xs:attributeGroup ref="k:Envelope"/>
    <xs:attribute name="referral" type="k:Identifier" use="required"/>
  </xs:complexType>

  <xs:complexType name="EndedEvent">
    <xs:sequence>
      <xs:element name="reason" type="k:Text" minOccurs="0"/>
    </xs:sequence>
    <xs:attributeGroup ref="k:Envelope"/>
    <xs:attribute name="referral" type="k:Identifier" use="required"/>
  </xs:complexType>

  <!-- Events -->

  <xs:element name="party">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="name" type="k:Text"/>
      </xs:sequence>
      <xs:attributeGroup ref="k:Envelope"/>
      <xs:attribute name="party" type="k:Identifier" use="required"/>
      <xs:attribute name="domain" type="k:Identifier" use="required"/>
      <xs:attribute name="capacityPerWeek" type="k:Capacity"/>
      <xs:attribute name="normDays" type="k:Days"/>
      <xs:attribute name="regieEligible" type="xs:boolean"/>
    </xs:complexType>
  </xs:element>

  <xs:element name="assessment">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="score" maxOccurs="unbounded">
          <xs:complexType>
            <xs:attribute name="domain" type="k:Identifier" use="required"/>
            <xs:attribute name="value" type="k:ZrmScore" use="required"/>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
      <xs:attributeGroup ref="k:Envelope"/>
      <xs:attributeGroup ref="k:CaseOrBsn"/>
    </xs:complexType>
  </xs:element>

  <xs:element name="referral">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="dependsOn" minOccurs="0" maxOccurs="unbounded">
          <xs:complexType>
            <xs:attribute name="ref" type="k:Identifier" use="required"/>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
      <xs:attributeGroup ref="k:Envelope"/>
      <xs:attribute name="referral" type="k:Identifier" use="required"/>
      <xs:attributeGroup ref="k:CaseOrBsn"/>
      <xs:attribute name="from" type="k:Identifier" use="required"/>
      <xs:attribute name="to" type="k:Identifier" use="required"/>
      <xs:attribute name="urgency" type="k:Urgency"/>
      <xs:attribute name="lifeDomain" type="k:Identifier"/>
    </xs:complexType>
  </xs:element>

  <xs:element name="accepted" type="k:StatusEvent"/>
  <xs:element name="started" type="k:StatusEvent"/>

  <xs:element name="completed">
    <xs:complexType>
      <xs:attributeGroup ref="k:Envelope"/>
      <xs:attribute name="referral" type="k:Identifier" use="required"/>
      <xs:attribute name="outcome" type="k:Text"/>
    </xs:complexType>
  </xs:element>

  <xs:element name="rejected" type="k:EndedEvent"/>
  <xs:element name="withdrawn" type="k:EndedEvent"/>

  <xs:element name="regie">
    <xs:complexType>
      <xs:attributeGroup ref="k:Envelope"/>
      <xs:attributeGroup ref="k:CaseOrBsn"/>
      <xs:attribute name="party" type="k:Identifier" use="required"/>
    </xs:complexType>
  </xs:element>
</xs:schema>

"""#
}
